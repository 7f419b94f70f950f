#!/usr/bin/env bash
# install-pulumi.sh: the Pulumi engine that pod-routes' tests, demo and benchmarks run, built offline.
#
#   Users: do NOT use this. Install Pulumi the normal way, https://www.pulumi.com/docs/install/.
#
# Machines whose only network is the package registries get the CLI from the Go module proxy instead of
# Pulumi's release downloads:
#   pulumi                          github.com/pulumi/pulumi/pkg/v3/cmd/pulumi, built at v3.259.0
#   pulumi-resource-pulumi-nodejs   the SDK's dynamic-provider shim, copied from github.com/pulumi/pulumi/sdk/v3@v3.259.0
#   pulumi-language-nodejs          TEST INFRASTRUCTURE: pod-routes' own stand-in for Pulumi's Node.js language
#                                   host (scripts/language-host/), which the module proxy does not serve
# which is all pod-routes needs: `pulumi preview/up/refresh/destroy` run its TypeScript programs through the
# stand-in (placed beside `pulumi`, where the engine looks first), and its host routes are a dynamic provider
# (the shim runs them). No provider plugin is downloaded. Users install the real Pulumi, which ships the
# official language host.
#
# The version matches the npm package the project pins (@pulumi/pulumi 3.259.0). A CLI of that version
# already on PATH or in the tools dir is reused. Otherwise it is built once, in a wrapper module generated
# in the cache (`go install m/cmd@v` refuses modules with `replace` directives), with the Go module and
# build caches beside it, so later runs (a fresh clone on the same machine included) take a second.
# A cold build on a 2-core machine took 412 s of compiling and about 9 minutes in all (2026-11-23); each
# build appends its time to <tools>/build-times.log.
#
# Usage: scripts/install-pulumi.sh [--print-path] [--check]
#   --print-path  print only the tools' bin dir on stdout
#   --check       build nothing: exit 0 only if both tools are there
# Environment:
#   POD_ROUTES_TOOLS     tools dir (default ~/.cache/pod-routes/tools); binaries go to its bin/
#   POD_ROUTES_GO_CACHE  Go module and build caches and the wrapper module (default: <tools dir>/../go)
#   GOPROXY              as Go reads it; `direct` is dropped, so nothing is fetched from source hosts
set -euo pipefail

PULUMI_VERSION=v3.259.0
CLI_MODULE=github.com/pulumi/pulumi/pkg/v3
CLI_PKG=$CLI_MODULE/cmd/pulumi
SDK_MODULE=github.com/pulumi/pulumi/sdk/v3
VERSION_VAR=$SDK_MODULE/go/common/version.Version
SHIM=pulumi-resource-pulumi-nodejs
LANGUAGE_HOST=pulumi-language-nodejs

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LANGUAGE_HOST_SRC=$SCRIPT_DIR/language-host/$LANGUAGE_HOST.js
TOOLS_DIR=${POD_ROUTES_TOOLS:-$HOME/.cache/pod-routes/tools}
BIN_DIR=$TOOLS_DIR/bin
GO_CACHE_ROOT=${POD_ROUTES_GO_CACHE:-$(dirname "$TOOLS_DIR")/go}
WRAP_DIR=$GO_CACHE_ROOT/wrappers/pulumi-$PULUMI_VERSION
LOG=$TOOLS_DIR/logs/pulumi-$PULUMI_VERSION.log

print_path=false check_only=false
for arg in "$@"; do
  case $arg in
    --print-path) print_path=true ;;
    --check) check_only=true ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install-pulumi: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

log() { printf 'install-pulumi: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  if [ "${CI:-}" = true ]; then echo "::error title=install-pulumi::$*"; fi
  exit 1
}
export PULUMI_SKIP_UPDATE_CHECK=true

# A pulumi of the pinned version: the tools dir's, else the first on PATH (linked into the tools dir).
find_cli() {
  local p
  for p in "$BIN_DIR/pulumi" $(type -aP pulumi 2>/dev/null || true); do
    [ -x "$p" ] && [ "$("$p" version 2>/dev/null | head -n1)" = "$PULUMI_VERSION" ] && { echo "$p"; return 0; }
  done
  return 1
}
# The shim is a small shell script: `node <the SDK's dynamic-provider>`, resolved from the program's directory.
have_shim() { [ -x "$BIN_DIR/$SHIM" ] && grep -q "cmd/dynamic-provider" "$BIN_DIR/$SHIM"; }
# The language-host stand-in: this checkout's copy (the tools dir is shared by every clone on the machine).
have_language_host() { [ -x "$BIN_DIR/$LANGUAGE_HOST" ] && cmp -s "$LANGUAGE_HOST_SRC" "$BIN_DIR/$LANGUAGE_HOST"; }
install_language_host() {
  have_language_host && return 0
  mkdir -p "$BIN_DIR"
  install -m 0755 "$LANGUAGE_HOST_SRC" "$BIN_DIR/.$LANGUAGE_HOST.tmp"
  mv -f "$BIN_DIR/.$LANGUAGE_HOST.tmp" "$BIN_DIR/$LANGUAGE_HOST"
  log "installed the test stand-in for the Node.js language host as $BIN_DIR/$LANGUAGE_HOST"
}

done_ok() {
  log "pulumi $PULUMI_VERSION, $SHIM and $LANGUAGE_HOST are in $BIN_DIR (export PATH=\"$BIN_DIR:\$PATH\")"
  if $print_path; then printf '%s\n' "$BIN_DIR"; fi
  exit 0
}

cli=$(find_cli || true)
if $check_only; then
  if [ -n "$cli" ] && have_shim && have_language_host; then done_ok; fi
  log "missing: $([ -n "$cli" ] || echo "pulumi $PULUMI_VERSION ")$(have_shim || echo "$SHIM ")$(have_language_host || echo "$LANGUAGE_HOST (this checkout's)")"
  exit 1
fi
if [ -n "$cli" ] && have_shim; then
  [ "$cli" = "$BIN_DIR/pulumi" ] || ln -sfn "$cli" "$BIN_DIR/pulumi"
  install_language_host
  done_ok
fi

# Go: the machine's when new enough, else a pinned toolchain from the module proxy (install-go.sh).
POD_ROUTES_TOOLS=$TOOLS_DIR bash "$SCRIPT_DIR/install-go.sh" || die "no usable Go to build the Pulumi CLI with"
PATH=$BIN_DIR:$PATH
mkdir -p "$BIN_DIR" "$WRAP_DIR" "$(dirname "$LOG")" "$GO_CACHE_ROOT/mod" "$GO_CACHE_ROOT/build"

# One build at a time; a second run waits, then finds the CLI built.
exec 9>"$TOOLS_DIR/.pulumi.lock"
if ! flock -n 9; then
  log "another install-pulumi run holds $TOOLS_DIR/.pulumi.lock; waiting for it"
  flock 9
  cli=$(find_cli || true)
fi

goproxy=$(go env GOPROXY | tr ',|' '\n' | grep -vx 'direct' | paste -sd, -)
export GOPROXY=${goproxy:-https://proxy.golang.org}
export GOMODCACHE=$GO_CACHE_ROOT/mod GOCACHE=$GO_CACHE_ROOT/build
export GOTOOLCHAIN=local GOFLAGS='-buildvcs=false -mod=mod' GO111MODULE=on CGO_ENABLED=0
export GOWORK=off GOPRIVATE='' GONOPROXY='' GONOSUMDB=''

if [ -z "$cli" ]; then
  start=$(date +%s)
  if [ ! -f "$WRAP_DIR/.ready" ]; then
    log "resolving $CLI_PKG@$PULUMI_VERSION (about 1.4 GB of modules from $GOPROXY, once)"
    gomod=$(cd "$WRAP_DIR" && go mod download -json "$CLI_MODULE@$PULUMI_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p') ||
      die "the module proxy did not serve $CLI_MODULE@$PULUMI_VERSION"
    [ -n "$gomod" ] || die "the module proxy did not serve $CLI_MODULE@$PULUMI_VERSION"
    (
      cd "$WRAP_DIR"
      rm -f go.mod go.sum
      go mod init pod-routes.invalid/tools/pulumi >/dev/null 2>&1
      # Go ignores a dependency's replace directives, so carry the CLI's own over. A local one (../sdk, a
      # sibling module of the same repository, at a placeholder version) is pinned to the CLI's version.
      awk '
        /^replace[[:space:]]*\(/ { block = 1; next }
        block && /^\)/ { block = 0; next }
        /^replace[[:space:]]/ { sub(/^replace[[:space:]]+/, ""); print; next }
        block && NF { print }
      ' "$gomod" | sed 's://.*$::' | while read -r old _ new newver; do
        old=${old%% *}
        case $new in
          ./* | ../*) go mod edit -replace "$old=$old@$PULUMI_VERSION" ;;
          *) go mod edit -replace "$old=$new${newver:+@$newver}" ;;
        esac
      done
      nice -n 10 go get "$CLI_PKG@$PULUMI_VERSION"
    ) >"$LOG" 2>&1 || {
      tail -n 5 "$LOG" | sed 's/^/    /' >&2
      die "resolving $CLI_PKG@$PULUMI_VERSION failed; see $LOG"
    }
    touch "$WRAP_DIR/.ready"
  fi
  log "building $CLI_PKG@$PULUMI_VERSION (a cold build takes several minutes; log: $LOG)"
  (cd "$WRAP_DIR" && nice -n 10 go build -trimpath -ldflags "-s -w -X $VERSION_VAR=$PULUMI_VERSION" -o "$BIN_DIR/.pulumi.tmp" "$CLI_PKG") >>"$LOG" 2>&1 || {
    rm -f "$BIN_DIR/.pulumi.tmp"
    tail -n 5 "$LOG" | sed 's/^/    /' >&2
    die "building the Pulumi CLI failed; see $LOG"
  }
  mv -f "$BIN_DIR/.pulumi.tmp" "$BIN_DIR/pulumi"
  [ "$("$BIN_DIR/pulumi" version)" = "$PULUMI_VERSION" ] || die "the built pulumi says '$("$BIN_DIR/pulumi" version)', not $PULUMI_VERSION"
  took=$(($(date +%s) - start))
  printf '%s %s@%s %ss\n' "$(date -u +%FT%TZ)" "$CLI_PKG" "$PULUMI_VERSION" "$took" >>"$TOOLS_DIR/build-times.log"
  log "built pulumi $PULUMI_VERSION in $took s"
elif [ "$cli" != "$BIN_DIR/pulumi" ]; then
  ln -sfn "$cli" "$BIN_DIR/pulumi"
fi

if ! have_shim; then
  dir=$(cd "$WRAP_DIR" 2>/dev/null && go mod download -json "$SDK_MODULE@$PULUMI_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  if [ -z "$dir" ] || [ ! -f "$dir/nodejs/dist/$SHIM" ]; then
    die "the module proxy did not serve $SDK_MODULE@$PULUMI_VERSION (for $SHIM)"
  fi
  install -m 0755 "$dir/nodejs/dist/$SHIM" "$BIN_DIR/$SHIM"
fi
install_language_host
done_ok
