#!/usr/bin/env bash
# Go for what the tests build: actionlint and the Pulumi CLI (scripts/install-pulumi.sh). Uses the
# machine's `go` when it is new enough; otherwise fetches a pinned Go toolchain from
# the Go module proxy (the same zip `GOTOOLCHAIN=go1.x.y` downloads), checks its SHA-256 and unpacks it
# into the tools cache. Either way it leaves `<tools>/bin/go`, which install-tools.sh and the tests use.
#
#   bash scripts/install-go.sh        idempotent; a second run only checks
set -euo pipefail
TOOLS=${POD_ROUTES_TOOLS:-$HOME/.cache/pod-routes/tools}
GO_MIN=1.24 # actionlint v1.7.12 and the Pulumi CLI v3.259.0 need it
GO_PINNED=1.25.5
# SHA-256 of golang.org/toolchain@v0.0.1-go$GO_PINNED.linux-amd64.zip as the proxy serves it. Only amd64 is
# pinned: the proxy this project is developed against serves no other architecture to check a hash with.
GO_ZIP_SHA256=8cea6783dab64d68b38f5b81ecd38d45155a3c06638991acc6af19e0fca80edb

say() { echo "install-go: $*" >&2; }
die() {
  say "$*"
  if [ "${CI:-}" = true ]; then echo "::error title=install-go::$*"; fi
  exit 1
}
# "go1.26.8" -> "1.26.8"; empty when the go binary does not run.
version_of() { "$1" env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9][0-9.]*\).*/\1/p'; }
new_enough() { [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$GO_MIN" "$1" | sort -V | head -n 1)" = "$GO_MIN" ]; }

mkdir -p "$TOOLS/bin"
link=$TOOLS/bin/go

# The machine's go (not our own link), when new enough: link to it so every user of <tools>/bin/go agrees.
system_go=$(PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$TOOLS/bin" | paste -sd: -) command -v go || true)
if [ -n "$system_go" ] && new_enough "$(version_of "$system_go")"; then
  ln -sfn "$(realpath "$system_go")" "$link"
  say "using the machine's Go $(version_of "$system_go") ($system_go)"
  exit 0
fi
if [ -x "$link" ] && new_enough "$(version_of "$link")"; then
  say "Go $(version_of "$link") already in $TOOLS"
  exit 0
fi

[ "$(uname -m)" = x86_64 ] ||
  die "no pinned Go toolchain for $(uname -m); install Go >= $GO_MIN (https://go.dev/dl/ or your distribution)"
arch=amd64
for tool in curl unzip sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is needed to fetch Go; run scripts/lab-deps.sh as root, or install Go >= $GO_MIN"
done

proxy=${GOPROXY:-https://proxy.golang.org}
proxy=${proxy%%[,|]*}
case "$proxy" in http://* | https://*) ;; *) proxy=https://proxy.golang.org ;; esac
module=golang.org/toolchain@v0.0.1-go$GO_PINNED.linux-$arch
url=$proxy/golang.org/toolchain/@v/v0.0.1-go$GO_PINNED.linux-$arch.zip
if [ -n "$system_go" ]; then
  say "the machine's Go ($system_go) is older than $GO_MIN; fetching Go $GO_PINNED from $url"
else
  say "no Go on PATH; fetching Go $GO_PINNED from $url"
fi

work=$(mktemp -d "$TOOLS/.go-download.XXXXXX")
trap 'rm -rf "$work"' EXIT
curl -fsSL --retry 3 -o "$work/go.zip" "$url" || die "could not download $url"
echo "$GO_ZIP_SHA256  $work/go.zip" | sha256sum -c --quiet - ||
  die "$url does not have the pinned SHA-256 $GO_ZIP_SHA256; refusing to use it"
unzip -q "$work/go.zip" -d "$work/unpacked"
root=$work/unpacked/$module
[ -f "$root/bin/go" ] || die "$url holds no bin/go"
# Module zips keep no file modes (cmd/go sets them the same way when it switches toolchains).
chmod -R a+rX "$root"
chmod a+x "$root"/bin/* "$root"/pkg/tool/*/*
dest=$TOOLS/go-$GO_PINNED
rm -rf "$dest"
mv "$root" "$dest"
ln -sfn "$dest/bin/go" "$link"
new_enough "$(version_of "$link")" || die "the Go unpacked into $dest does not run"
say "Go $(version_of "$link") in $dest"
