#!/usr/bin/env bash
# install-pulumi.sh: makes the Pulumi engine available OFFLINE, for pod-routes' own tests on CI/test machines.
#
#   Users: do NOT use this. Install Pulumi the normal way, https://www.pulumi.com/docs/install/
#          (`curl -fsSL https://get.pulumi.com | sh`); the engine then downloads providers by itself.
#
# This script is only for machines whose sole network is the package registries (the Go module proxy among
# them): it builds from Go modules, at exact versions, what the official release would have downloaded:
#   pulumi                   github.com/pulumi/pulumi/pkg/v3/cmd/pulumi                        v3.259.0
#   pulumi-language-nodejs   github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 v3.259.0
#   pulumi-resource-command  github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command 1.2.1
# matching the npm packages the project pins (@pulumi/pulumi 3.259.0, @pulumi/command ~1.2.1), plus the
# SDK's own `pulumi-resource-pulumi-nodejs` shim (dynamic providers), copied from the same sdk/v3 module.
#
# Tools that are already there at those versions (on PATH, in the tools dir, or the provider among Pulumi's
# installed plugins) are reused, and the run ends in a second. Otherwise each tool is built in a small wrapper
# module generated in the cache (`go install m/cmd@v` refuses modules with `replace` directives), with
# GOMODCACHE and GOCACHE in the cache too, so a later run, CI's fresh clone included, rebuilds nothing.
#
# What the proxy served when this was written (2026-11): the CLI (pkg/v3 and sdk/v3 v3.259.0) builds in 3.5 to 4
# minutes on a 2-core machine from nothing (its ~1.4 GB of modules download in a small part of that), in
# 6 s when only the link is left to do (binary gone, caches kept). The language host and the command provider
# were refused (403 "This module version is not available"; provider@v1.2.1 is a 404: that tag does not
# exist), so they are reported MISSING and the run still succeeds unless --strict. Without the language host,
# Node.js programs still run under the engine as Automation API inline programs (LocalWorkspace with
# `program`): the SDK serves the language runtime itself, and `pulumi.dynamic` resources work through the
# shim; see --smoke-test. A later run asks the proxy again (once a day), and builds them when it serves them.
#
# Usage: scripts/install-pulumi.sh [--print-path] [--check] [--strict] [--force] [--smoke-test]
#   --print-path  print only the tools' bin dir on stdout (everything else goes to stderr)
#   --check       build nothing: report what is there; exit 0 only if all three tools are
#   --strict      exit non-zero if any of the three tools is missing after the run (default: only the CLI)
#   --force       rebuild the tools and retry modules that the proxy refused lately
#   --smoke-test  afterwards, run `pulumi up` on throwaway programs in a temp dir (needs the project's npm ci)
# Environment:
#   POD_ROUTES_TOOLS     tools dir (default /var/cache/pod-routes/tools); binaries go to its bin/
#   POD_ROUTES_GO_CACHE  Go module and build caches and the wrapper modules (default: <tools dir>/../go)
#   GOPROXY              as Go reads it; `direct` is dropped, so nothing is fetched from source hosts
set -euo pipefail

PULUMI_VERSION=v3.259.0
COMMAND_VERSION=v1.2.1

CLI_MODULE=github.com/pulumi/pulumi/pkg/v3
CLI_PKG=$CLI_MODULE/cmd/pulumi
SDK_MODULE=github.com/pulumi/pulumi/sdk/v3
VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
LANG_MODULE=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
LANG_PKG=$LANG_MODULE
CMD_MODULE=github.com/pulumi/pulumi-command/provider
CMD_PKG=$CMD_MODULE/cmd/pulumi-resource-command
CMD_VERSION_VAR=$CMD_MODULE/pkg/version.Version
# The v1.2.1 tag is on the repository root; provider/ is a nested module with no tag of its own, so Go can
# only name that commit (7f3eb6f3b77c, 2026-03-03 23:59:22 UTC) by its pseudo-version. Both are tried.
CMD_MODULE_VERSIONS=("$COMMAND_VERSION" v0.0.0-20260303235922-7f3eb6f3b77c)
LANG_MODULE_VERSIONS=("$PULUMI_VERSION")

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
TOOLS_DIR=${POD_ROUTES_TOOLS:-/var/cache/pod-routes/tools}
BIN_DIR=$TOOLS_DIR/bin
GO_CACHE_ROOT=${POD_ROUTES_GO_CACHE:-$(dirname "$TOOLS_DIR")/go}
WRAP_DIR=$GO_CACHE_ROOT/wrappers
REFUSED_DIR=$TOOLS_DIR/refused # module@version the proxy refused, remembered for a day
LOG_DIR=$TOOLS_DIR/logs

print_path=false check_only=false strict=false force=false smoke=false
for arg in "$@"; do
  case $arg in
    --print-path) print_path=true ;;
    --check) check_only=true ;;
    --strict) strict=true ;;
    --force) force=true ;;
    --smoke-test) smoke=true ;;
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
  exit 1
}

export PULUMI_SKIP_UPDATE_CHECK=true

# ---------------------------------------------------------------------------------------------------------
# Finding tools that are already there
# ---------------------------------------------------------------------------------------------------------

# True if the Go binary $1 was built from $2 (a module path or an -X flag) at version $3, according to its
# embedded build info (kept by -s -w). Reads it with `go version -m` where Go exists, else with grep.
built_from() {
  local bin=$1 what=$2 version=$3 info
  if command -v go >/dev/null 2>&1; then
    info=$(go version -m "$bin" 2>/dev/null) || return 1
  else
    info=$(LC_ALL=C grep -a -o "[[:print:]	]*${what//./\\.}[[:print:]	]*" "$bin" 2>/dev/null) || return 1
  fi
  grep -Eq "(${what}[[:space:]]+${version}([[:space:]]|\$))|(${what}=${version#v}([^0-9.]|\$))|(${what}=${version}([^0-9.]|\$))" <<<"$info"
}

# Candidate paths for tool $1: the tools dir first, then every match on PATH.
candidates() {
  local name=$1 dir
  [ -x "$BIN_DIR/$name" ] && printf '%s\n' "$BIN_DIR/$name"
  local IFS=:
  for dir in $PATH; do
    [ -n "$dir" ] && [ -x "$dir/$name" ] && [ "$dir/$name" != "$BIN_DIR/$name" ] && printf '%s\n' "$dir/$name"
  done
  return 0
}

found_cli='' found_lang='' found_cmd='' cmd_registered=''

find_cli() {
  local p v
  while read -r p; do
    [ -n "$p" ] || continue
    v=$("$p" version 2>/dev/null | head -n1) || continue
    if [ "$v" = "$PULUMI_VERSION" ]; then
      found_cli=$p
      return 0
    fi
    log "ignoring $p: it is pulumi $v, not $PULUMI_VERSION"
  done < <(candidates pulumi)
  return 1
}

# The language host prints no version; accept one built from the right module version, or the one that sits
# beside an accepted official CLI (release archives ship them together).
find_lang() {
  local p
  while read -r p; do
    [ -n "$p" ] || continue
    if built_from "$p" "$LANG_MODULE" "$PULUMI_VERSION" || built_from "$p" "$VERSION_VAR" "$PULUMI_VERSION" ||
      { [ -n "$found_cli" ] && [ "$(dirname "$(readlink -f "$p")")" = "$(dirname "$(readlink -f "$found_cli")")" ]; }; then
      found_lang=$p
      return 0
    fi
    log "ignoring $p: cannot tell that it is $PULUMI_VERSION"
  done < <(candidates pulumi-language-nodejs)
  return 1
}

pulumi_home() { printf '%s\n' "${PULUMI_HOME:-$HOME/.pulumi}"; }

find_cmd() {
  local p v plugin
  plugin="$(pulumi_home)/plugins/resource-command-$COMMAND_VERSION/pulumi-resource-command"
  while read -r p; do
    [ -n "$p" ] || continue
    # Ours record the module version (-trimpath leaves -ldflags out of the build info); others may record
    # the -X flag that set the version.
    for v in "${CMD_MODULE_VERSIONS[@]}"; do
      if built_from "$p" "$CMD_MODULE" "$v"; then
        found_cmd=$p
        return 0
      fi
    done
    if built_from "$p" "$CMD_VERSION_VAR" "$COMMAND_VERSION"; then
      found_cmd=$p
      return 0
    fi
    log "ignoring $p: not built as command $COMMAND_VERSION"
  done < <(candidates pulumi-resource-command)
  if [ -x "$plugin" ]; then
    found_cmd=$plugin cmd_registered=yes
    return 0
  fi
  return 1
}

find_all() {
  found_cli='' found_lang='' found_cmd='' cmd_registered=''
  find_cli || true
  find_lang || true
  find_cmd || true
}

report() {
  log "pulumi                  ${found_cli:-MISSING} ($PULUMI_VERSION)"
  log "pulumi-language-nodejs  ${found_lang:-MISSING} ($PULUMI_VERSION)"
  log "pulumi-resource-command ${found_cmd:-MISSING} ($COMMAND_VERSION)"
}

# Links a tool found elsewhere into the bin dir, so one dir on PATH holds all of them.
link_into_bin() {
  local src=$1 name
  name=$(basename "$src")
  [ "$src" = "$BIN_DIR/$name" ] && return 0
  mkdir -p "$BIN_DIR"
  ln -sfn "$src" "$BIN_DIR/$name"
}

finish() {
  local status=0
  report
  if [ -z "$found_cli" ]; then
    status=1
  elif $strict && { [ -z "$found_lang" ] || [ -z "$found_cmd" ]; }; then
    log "--strict: not every tool is there"
    status=1
  fi
  if [ $status -eq 0 ]; then
    log "ready; to use it: export PATH=\"$BIN_DIR:\$PATH\"  (or: source scripts/pulumi-env.sh)"
    if $print_path; then printf '%s\n' "$BIN_DIR"; fi
  fi
  exit $status
}

# Runs `pulumi up` (then destroy) on throwaway programs in a temp dir outside the project, with the project's
# node_modules linked in and its Node (node_modules/.bin/node: the SDK wants Node >= 22) first on PATH:
#   inline   an Automation API inline program (the SDK serves the language runtime itself, so no
#            pulumi-language-nodejs is needed): a stack output and a `pulumi.dynamic` resource
#   cli      `pulumi up` of a plain Node.js project (needs pulumi-language-nodejs)
#   command  a @pulumi/command local.Command running `echo hi` (needs pulumi-resource-command)
# Offline: a file:// backend, a passphrase, no plugin downloads, no update check, a temporary PULUMI_HOME.
smoke_test() {
  local nm=$PROJECT_DIR/node_modules tmp failed=0 rc path_dirs out
  if [ ! -f "$nm/@pulumi/pulumi/package.json" ]; then
    log "smoke test: $nm/@pulumi/pulumi is missing; run npm ci in $PROJECT_DIR first"
    return 1
  fi
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/pod-routes-pulumi-smoke.XXXXXX")
  path_dirs=$BIN_DIR
  [ -n "$found_cmd" ] && path_dirs=$path_dirs:$(dirname "$found_cmd")
  [ -x "$nm/.bin/node" ] && path_dirs=$nm/.bin:$path_dirs
  mkdir -p "$tmp/state" "$tmp/home" "$tmp/inline" "$tmp/cli"
  ln -s "$nm" "$tmp/inline/node_modules"
  ln -s "$nm" "$tmp/cli/node_modules"
  cat >"$tmp/inline/smoke.js" <<'JS'
// node smoke.js [command]: up, check outputs, destroy; prints "SMOKE OK <outputs>".
const pulumi = require("@pulumi/pulumi");
const { LocalWorkspace } = require("@pulumi/pulumi/automation");
const withCommand = process.argv[2] === "command";
const program = async () => {
  const echo = {
    async create(inputs) {
      return { id: "echo", outs: { said: `said ${inputs.text}` } };
    },
  };
  class Echo extends pulumi.dynamic.Resource {
    constructor(name, args, opts) {
      super(echo, name, { said: undefined, ...args }, opts);
    }
  }
  const out = { greeting: "hi", said: new Echo("echo", { text: "hi" }).said };
  if (withCommand) {
    const command = require("@pulumi/command");
    out.stdout = new command.local.Command("hi", { create: "echo hi" }).stdout;
  }
  return out;
};
(async () => {
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: "smoke", projectName: "pod-routes-smoke", program },
    { workDir: __dirname, projectSettings: { name: "pod-routes-smoke", runtime: "nodejs" } },
  );
  const up = await stack.up({ onOutput: (s) => process.stderr.write(s) });
  const outs = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));
  if (outs.said !== "said hi" || (withCommand && outs.stdout !== "hi")) throw new Error(`unexpected outputs ${JSON.stringify(outs)}`);
  await stack.destroy({ onOutput: (s) => process.stderr.write(s) });
  console.log(`SMOKE OK ${JSON.stringify(outs)}`);
})().catch((e) => {
  console.error(`SMOKE FAILED ${e && e.message ? e.message : e}`);
  process.exit(1);
});
JS
  printf 'name: pod-routes-smoke-cli\nruntime: nodejs\n' >"$tmp/cli/Pulumi.yaml"
  printf '{ "name": "pod-routes-smoke-cli", "main": "index.js" }\n' >"$tmp/cli/package.json"
  if [ -n "$found_cmd" ]; then
    printf 'const command = require("@pulumi/command");\nexports.stdout = new command.local.Command("hi", { create: "echo hi" }).stdout;\n'
  else
    printf 'exports.greeting = "hi";\n'
  fi >"$tmp/cli/index.js"

  # One subshell per check, with exactly the environment a test would use.
  # shellcheck disable=SC2030,SC2031
  run_offline() {
    (
      cd "$1" && shift
      export PATH="$path_dirs:$PATH" PULUMI_HOME=$tmp/home PULUMI_BACKEND_URL=file://$tmp/state
      export PULUMI_CONFIG_PASSPHRASE=smoke PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
      unset PULUMI_ACCESS_TOKEN PULUMI_IGNORE_AMBIENT_PLUGINS
      timeout 300 "$@"
    )
  }
  # shellcheck disable=SC2031
  log "smoke test in $tmp (node $(PATH="$path_dirs:$PATH" node --version), pulumi $("$found_cli" version))"

  if out=$(run_offline "$tmp/inline" node smoke.js 2>"$tmp/inline.log"); then
    log "smoke test inline (Automation API, dynamic resource): $out"
  else
    failed=1
    log "smoke test inline FAILED; last lines:" && tail -n 15 "$tmp/inline.log" | sed 's/^/    /' >&2
  fi

  if [ -n "$found_cmd" ]; then
    if out=$(run_offline "$tmp/inline" node smoke.js command 2>"$tmp/inline-command.log"); then
      log "smoke test command (Automation API, local.Command echo hi): $out"
    else
      failed=1
      log "smoke test command FAILED; last lines:" && tail -n 15 "$tmp/inline-command.log" | sed 's/^/    /' >&2
    fi
  else
    log "smoke test command: skipped, no pulumi-resource-command"
  fi

  if [ -n "$found_lang" ]; then
    rc=0
    {
      run_offline "$tmp/cli" pulumi stack init smoke --non-interactive &&
        run_offline "$tmp/cli" pulumi up --yes --non-interactive --skip-preview &&
        run_offline "$tmp/cli" pulumi stack output --json &&
        run_offline "$tmp/cli" pulumi destroy --yes --non-interactive --skip-preview
    } >"$tmp/cli.log" 2>&1 || rc=$?
    if [ $rc -eq 0 ]; then
      log "smoke test cli (pulumi up of a Node.js project): OK $(tr -d ' \n' <"$tmp/cli.log" | grep -o '{[^}]*}' | head -n1)"
    else
      failed=1
      log "smoke test cli FAILED; last lines:" && tail -n 15 "$tmp/cli.log" | sed 's/^/    /' >&2
    fi
  else
    log "smoke test cli: skipped, no pulumi-language-nodejs (Automation API inline programs work without it)"
  fi
  rm -rf "$tmp"
  return $failed
}

# ---------------------------------------------------------------------------------------------------------
# Quick path
# ---------------------------------------------------------------------------------------------------------

find_all
if $check_only; then
  report
  [ -n "$found_cli" ] && [ -n "$found_lang" ] && [ -n "$found_cmd" ] && {
    if $print_path; then printf '%s\n' "$BIN_DIR"; fi
    exit 0
  }
  exit 1
fi
if ! $force && ! $smoke && [ -n "$found_cli" ] && [ -n "$found_lang" ] && [ -n "$found_cmd" ]; then
  for tool in "$found_cli" "$found_lang"; do link_into_bin "$tool"; done
  [ -n "$cmd_registered" ] || link_into_bin "$found_cmd"
  finish
fi

# ---------------------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------------------

# The machine's Go when new enough, else a pinned toolchain from the Go module proxy, linked as $BIN_DIR/go.
POD_ROUTES_TOOLS=$TOOLS_DIR bash "$SCRIPT_DIR/install-go.sh" || die "no usable Go to build the Pulumi engine with"
PATH=$BIN_DIR:$PATH
mkdir -p "$BIN_DIR" "$WRAP_DIR" "$REFUSED_DIR" "$LOG_DIR" "$GO_CACHE_ROOT/mod" "$GO_CACHE_ROOT/build"

# One run at a time: a second one waits, then finds the tools built.
exec 9>"$TOOLS_DIR/.lock"
if ! flock -n 9; then
  log "another install-pulumi run holds $TOOLS_DIR/.lock; waiting for it"
  flock 9
  find_all
fi

goproxy=$(go env GOPROXY)
goproxy=$(tr ',|' '\n' <<<"$goproxy" | grep -vx 'direct' | paste -sd, -)
export GOPROXY=${goproxy:-https://proxy.golang.org}
export GOMODCACHE=$GO_CACHE_ROOT/mod GOCACHE=$GO_CACHE_ROOT/build
export GOTOOLCHAIN=local GOFLAGS='-buildvcs=false -mod=mod' GO111MODULE=on CGO_ENABLED=0
export GOWORK=off GOPRIVATE='' GONOPROXY='' GONOSUMDB=''
NICE=(nice -n 10)
log "Go $(go env GOVERSION), GOPROXY=$GOPROXY, caches in $GO_CACHE_ROOT"

refused_file() { printf '%s/%s\n' "$REFUSED_DIR" "$(printf '%s' "$1" | tr '/@' '__')"; }

# Downloads module@version into the module cache; prints the path of its go.mod. On failure, records the
# proxy's answer in the refused dir (so the next day's run asks again, not every run) and returns 1.
download_module() {
  local mv=$1 out mark
  mark=$(refused_file "$mv")
  if ! $force && [ -f "$mark" ] && [ -n "$(find "$mark" -mmin -1440 2>/dev/null)" ]; then
    log "not asking again for $mv: the proxy refused it less than a day ago (see $mark; --force asks again)"
    return 1
  fi
  local rc=0
  out=$(cd "$WRAP_DIR" && go mod download -json "$mv" 2>/dev/null) || rc=$?
  if [ $rc -eq 0 ] && ! grep -q '"Error"' <<<"$out"; then
    rm -f "$mark"
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"$out"
    return 0
  fi
  {
    date -u +%FT%TZ
    if grep -q '"Error"' <<<"$out"; then
      grep '"Error"' <<<"$out" | sed 's/^[[:space:]]*"Error": *"//; s/",\{0,1\}$//; s/\\n\\t/ /g' |
        sed "s|^$mv: ||"
    else
      printf 'go mod download exited %s\n' "$rc"
    fi
  } >"$mark"
  log "the module proxy refused $mv: $(tail -n1 "$mark")"
  return 1
}

# Prints "old<TAB>new" for each replace directive in the go.mod $1 (both one-line and block forms).
replaces_of() {
  awk '
    /^replace[[:space:]]*\(/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    /^replace[[:space:]]/ { sub(/^replace[[:space:]]+/, ""); line = $0 }
    inblock { line = $0 }
    line != "" {
      sub(/\/\/.*/, "", line)
      n = split(line, parts, /[[:space:]]*=>[[:space:]]*/)
      if (n == 2) {
        gsub(/^[[:space:]]+|[[:space:]]+$/, "", parts[1]); gsub(/^[[:space:]]+|[[:space:]]+$/, "", parts[2])
        print parts[1] "\t" parts[2]
      }
      line = ""
    }' "$1"
}

# build_tool NAME MODULE VERSION PKG LDFLAGS: builds PKG from MODULE@VERSION into $BIN_DIR/NAME through a
# wrapper module. The wrapper (go.mod, go.sum) is kept, so a rebuild needs neither the proxy nor sumdb.
build_tool() {
  local name=$1 module=$2 version=$3 pkg=$4 ldflags=$5
  local dir=$WRAP_DIR/$name-$version gomod old new oldpath newpath newver start end
  local logf=$LOG_DIR/$name-$version.log
  if [ ! -f "$dir/.ready" ] || $force; then
    gomod=$(download_module "$module@$version") || return 1
    rm -rf "$dir" && mkdir -p "$dir"
    (
      cd "$dir"
      go mod init "pod-routes.invalid/tools/$name" >/dev/null 2>&1
      # Go ignores a dependency's replace directives, so carry the tool's own over: a module path one is
      # copied as it is; a local one (../sdk, a sibling module of the same repository, usually required at a
      # placeholder version v3.0.0-00010101000000-000000000000) is pinned to the tool's own version.
      while IFS=$'\t' read -r old new; do
        oldpath=${old%% *}
        case $new in
          ./* | ../*)
            newver=$version
            log "$name: pinning $oldpath (a local replace upstream) to $oldpath@$newver"
            go mod edit -replace "$oldpath=$oldpath@$newver"
            ;;
          *)
            newpath=${new%% *} newver=${new##* }
            [ "$newpath" = "$newver" ] && newver=''
            go mod edit -replace "${old// /@}=$newpath${newver:+@$newver}"
            ;;
        esac
      done < <(replaces_of "$gomod")
      "${NICE[@]}" go get "$pkg@$version"
    ) >"$logf" 2>&1 || {
      log "$name: resolving $pkg@$version failed; last lines of $logf:"
      tail -n 5 "$logf" | sed 's/^/    /' >&2
      return 1
    }
    touch "$dir/.ready"
  fi
  log "$name: building $pkg@$version (log: $logf)"
  start=$(date +%s)
  (
    cd "$dir"
    "${NICE[@]}" go build -p 2 -trimpath -ldflags "-s -w $ldflags" -o "$BIN_DIR/.$name.tmp" "$pkg"
  ) >>"$logf" 2>&1 || {
    log "$name: build failed; last lines of $logf:"
    tail -n 5 "$logf" | sed 's/^/    /' >&2
    rm -f "$BIN_DIR/.$name.tmp"
    return 1
  }
  mv -f "$BIN_DIR/.$name.tmp" "$BIN_DIR/$name"
  end=$(date +%s)
  log "$name: built in $((end - start)) s"
  printf '%s %s %s %ss\n' "$(date -u +%FT%TZ)" "$pkg@$version" "$name" "$((end - start))" >>"$TOOLS_DIR/build-times.log"
}

total_start=$(date +%s)

if [ -z "$found_cli" ] || $force; then
  build_tool pulumi "$CLI_MODULE" "$PULUMI_VERSION" "$CLI_PKG" "-X $VERSION_VAR=$PULUMI_VERSION" ||
    die "could not build the Pulumi CLI; see $LOG_DIR"
  found_cli=$BIN_DIR/pulumi
  v=$("$found_cli" version)
  [ "$v" = "$PULUMI_VERSION" ] || die "built pulumi says '$v', not $PULUMI_VERSION"
else
  link_into_bin "$found_cli"
fi

# The SDK's dynamic-provider shim (a release archive ships it beside the CLI): lets `pulumi.dynamic`
# resources run, from the very sdk/v3 module the CLI was built with.
shim=$GOMODCACHE/$SDK_MODULE@$PULUMI_VERSION/nodejs/dist/pulumi-resource-pulumi-nodejs
if [ ! -x "$BIN_DIR/pulumi-resource-pulumi-nodejs" ]; then
  if [ -f "$shim" ] || download_module "$SDK_MODULE@$PULUMI_VERSION" >/dev/null; then
    install -m 0755 "$shim" "$BIN_DIR/pulumi-resource-pulumi-nodejs"
  fi
fi

if [ -z "$found_lang" ] || $force; then
  for version in "${LANG_MODULE_VERSIONS[@]}"; do
    if build_tool pulumi-language-nodejs "$LANG_MODULE" "$version" "$LANG_PKG" "-X $VERSION_VAR=$PULUMI_VERSION"; then
      found_lang=$BIN_DIR/pulumi-language-nodejs
      break
    fi
  done
  [ -n "$found_lang" ] || log "pulumi-language-nodejs: not available from the module proxy (tried ${LANG_MODULE_VERSIONS[*]}); see $REFUSED_DIR"
else
  link_into_bin "$found_lang"
fi

if [ -z "$found_cmd" ] || $force; then
  for version in "${CMD_MODULE_VERSIONS[@]}"; do
    if build_tool pulumi-resource-command "$CMD_MODULE" "$version" "$CMD_PKG" "-X $CMD_VERSION_VAR=${COMMAND_VERSION#v}"; then
      found_cmd=$BIN_DIR/pulumi-resource-command
      break
    fi
  done
  [ -n "$found_cmd" ] || log "pulumi-resource-command: not available from the module proxy (tried ${CMD_MODULE_VERSIONS[*]}); see $REFUSED_DIR"
elif [ -z "$cmd_registered" ]; then
  link_into_bin "$found_cmd"
fi

# The engine finds a provider binary on PATH unless PULUMI_IGNORE_AMBIENT_PLUGINS is set; install it among
# Pulumi's plugins as well, so it is found either way (pulumi plugin ls lists it too).
if [ -n "$found_cmd" ] && [ -z "$cmd_registered" ]; then
  if "$found_cli" plugin install resource command "${COMMAND_VERSION#v}" --file "$found_cmd" >>"$LOG_DIR/plugin-install.log" 2>&1; then
    log "registered $found_cmd as resource plugin command ${COMMAND_VERSION#v} in $(pulumi_home)/plugins"
  else
    log "warning: pulumi plugin install resource command failed (see $LOG_DIR/plugin-install.log); PATH still works"
  fi
fi

log "build step took $(($(date +%s) - total_start)) s; caches: $(du -sh "$GO_CACHE_ROOT" 2>/dev/null | cut -f1) in $GO_CACHE_ROOT, $(du -sh "$BIN_DIR" 2>/dev/null | cut -f1) in $BIN_DIR"

# ---------------------------------------------------------------------------------------------------------
# Smoke test
# ---------------------------------------------------------------------------------------------------------

if $smoke; then
  smoke_test || die "smoke test failed"
fi

finish
