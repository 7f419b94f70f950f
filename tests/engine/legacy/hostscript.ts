// The host scripts of pod-routes 0.1 (the remote.Command release), kept as they were for the upgrade test:
// stacks deployed with that release hold commands whose delete scripts are these.
//
// Per-host shell scripts for the SSH path (bare metal, Linode, the print-by-hand runbook). Pure: the same
// spec always yields the same text, and only validated values are ever interpolated.
//
// The apply script makes a host match its desired routes, idempotently:
//   1. look: one `ip route show` per family, compared with the desired routes in awk;
//   2. refuse: a route to a desired destination that pod-routes did not create (any next hop, any type,
//      blackholes included) stops the run before any change, naming the route; an identical hand-made
//      route is reported as such and taken over only with `adopt`; a next hop that is not directly
//      reachable and a damaged /etc/hosts block stop it too;
//   3. change: one `ip -batch -` with `route replace … proto 156` for what is missing or different and
//      `route del` for our routes no longer desired; nothing else is touched;
//   4. persist: a state file of `ip -batch` lines and a systemd oneshot unit re-install the routes at
//      boot; controllers also get the managed /etc/hosts block.
// Both scripts are POSIX sh (dash and bash). Each one is a single function called on its last line: a
// script cut short in transit (the SSH path sends it on stdin) is a syntax error and changes nothing, and
// the function's subshell keeps `set -eu`, traps and `exit` out of a shell the script is pasted into.
import { HostPlan, planHostRoutes } from "../../../core/routes";
import { Node, RouteSpec, Worker, isWorker } from "../../../core/types";

/** Protocol number that marks routes pod-routes installed (free in the kernel's 0..255 registry). */
export const ROUTE_PROTO = 156;
export const ROUTE_PROTO_NAME = "pod-routes";
export const STATE_DIR = "/etc/pod-routes";
/** The desired routes as `ip -batch` lines (`route replace <dst> via <hop> proto 156`), re-applied at boot. */
export const STATE_FILE = `${STATE_DIR}/routes`;
/** The name of the pod-routes command that last applied this host (see the delete script). */
export const OWNER_FILE = `${STATE_DIR}/owner`;
/** Directories pod-routes had to create, so that the delete script removes them again (when empty). */
export const CREATED_DIRS_FILE = `${STATE_DIR}/created-dirs`;
export const BOOT_SCRIPT = `${STATE_DIR}/apply-at-boot.sh`;
export const UNIT_FILE = "/etc/systemd/system/pod-routes.service";
export const UNIT_LINK = "/etc/systemd/system/multi-user.target.wants/pod-routes.service";
export const PROTO_FILE = "/etc/iproute2/rt_protos.d/pod-routes.conf";
export const HOSTS_BEGIN = "# BEGIN pod-routes managed block";
export const HOSTS_END = "# END pod-routes managed block";
/** The function each script is wrapped in; the script's last line calls it. */
export const APPLY_FUNCTION = "pod_routes_apply";
export const DELETE_FUNCTION = "pod_routes_delete";

export interface ScriptOptions {
  /** Take over hand-made routes identical to desired ones (same destination and next hop). */
  readonly adopt?: boolean;
}

export interface HostScripts {
  readonly host: Node;
  readonly plan: HostPlan;
  /** Makes the host match the plan; safe to run any number of times. Runs as `sh -s` with this on stdin. */
  readonly apply: string;
  /**
   * Removes exactly what pod-routes installed on the host. Self-contained: runs as `sh -s` with this on
   * stdin, or as a command line (as remote.Command's `delete` does), and never reads stdin.
   */
  readonly remove: string;
}

// Defense in depth: validation already guarantees these shapes; the generator refuses anything else.
const SAFE = {
  cidr: /^[0-9a-f.:]+\/\d{1,3}$/,
  ip: /^[0-9a-f.:]+$/,
  name: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
};
function safe(kind: keyof typeof SAFE, value: string): string {
  if (!SAFE[kind].test(value))
    throw new Error(`pod-routes refuses to put ${JSON.stringify(value)} in a script (not a ${kind})`);
  return value;
}

export function renderHostScripts(
  spec: RouteSpec,
  options: ScriptOptions = {},
  prefix?: string,
): HostScripts[] {
  const workers = spec.nodes.filter(isWorker);
  return planHostRoutes(spec, prefix).map((plan) => ({
    host: plan.host,
    plan,
    apply: applyScript(plan, plan.host.role === "controller" ? workers : undefined, options),
    remove: removeScript(plan.host),
  }));
}

/** The /etc/hosts lines for a controller: every worker by name (and FQDN when known). */
export function hostsBlock(workers: readonly Worker[]): string[] {
  return workers.map((w) =>
    [safe("ip", w.ip), ...(w.fqdn !== undefined ? [safe("name", w.fqdn)] : []), safe("name", w.name)].join(
      " ",
    ),
  );
}

/** The desired routes as the script lists them: `<destination> <next hop>` per line. */
export function desiredLines(plan: HostPlan): string[] {
  return plan.routes.map((r) => `${safe("cidr", r.destination)} ${safe("ip", r.nextHop)}`);
}

function applyScript(
  plan: HostPlan,
  hostsFor: readonly Worker[] | undefined,
  options: ScriptOptions,
): string {
  const host = safe("name", plan.host.name);
  return [
    "#!/bin/sh",
    `# pod-routes: routes for host ${host}. Generated; do not edit. Safe to run again.`,
    "# Everything happens in the function below, called on the last line: a partial script does nothing.",
    `${APPLY_FUNCTION}() (`,
    "set -eu",
    `HOST=${host}`,
    `PROTO=${ROUTE_PROTO}`,
    `ADOPT=${options.adopt ? 1 : 0}`,
    `MANAGE_HOSTS=${hostsFor ? 1 : 0}`,
    "TAB=$(printf '\\t')",
    COMMON,
    "# Desired routes: destination and next hop.",
    `cat >"$WORK/desired" <<'POD_ROUTES_EOF'`,
    ...desiredLines(plan),
    "POD_ROUTES_EOF",
    "# The managed /etc/hosts block (controllers only).",
    `cat >"$WORK/hosts-block" <<'POD_ROUTES_EOF'`,
    ...(hostsFor ? hostsBlock(hostsFor) : []),
    "POD_ROUTES_EOF",
    CHECK,
    CHANGE,
    PERSIST,
    'echo "pod-routes: $HOST: added $added, changed $changed, adopted $adopted, removed $removed, unchanged $unchanged; files changed: $(echo "${files_changed:-none}" | sed "s/^ //")"',
    ")",
    `${APPLY_FUNCTION} </dev/null`,
    "",
  ].join("\n");
}

function removeScript(node: Node): string {
  const host = safe("name", node.name);
  return [
    "#!/bin/sh",
    `# pod-routes: remove everything pod-routes installed on host ${host}, and nothing else.`,
    "# Everything happens in the function below, called on the last line: a partial script does nothing.",
    `${DELETE_FUNCTION}() (`,
    "set -eu",
    `HOST=${host}`,
    `PROTO=${ROUTE_PROTO}`,
    COMMON,
    DELETE,
    ")",
    `${DELETE_FUNCTION} </dev/null`,
    "",
  ].join("\n");
}

// Shared by both scripts: a scratch directory, and /etc/hosts handling.
const COMMON = String.raw`WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; rm -f /etc/.hosts.pod-routes-tmp' EXIT
files_changed=""
# /etc/hosts without the managed block, into $1; fails (status 3) if the markers are not in matching pairs,
# so that a damaged block never costs the lines after it.
hosts_without_block() {
  awk -v b='${HOSTS_BEGIN}' -v e='${HOSTS_END}' '
    $0 == b { if (skip) bad = 1; skip = 1; next }
    $0 == e { if (!skip) bad = 1; skip = 0; next }
    !skip { print }
    END { if (skip || bad) exit 3 }
  ' /etc/hosts >"$1"
}
# Replaces /etc/hosts with the file $1 when they differ: atomically (a copy with the same owner and mode,
# renamed over it), or in place where it cannot be renamed over (a symlink, or a bind mount as in containers).
hosts_write() {
  if cmp -s "$1" /etc/hosts; then return 0; fi
  if [ ! -L /etc/hosts ] && cp -p /etc/hosts /etc/.hosts.pod-routes-tmp 2>/dev/null &&
    cat "$1" >/etc/.hosts.pod-routes-tmp && mv -f /etc/.hosts.pod-routes-tmp /etc/hosts 2>/dev/null; then
    :
  else
    rm -f /etc/.hosts.pod-routes-tmp
    cat "$1" >/etc/hosts
  fi
  files_changed="$files_changed /etc/hosts"
}`;

// Compares the desired routes with the table and prints one verdict per route, tab-separated:
//   keep|add|change|adopt <dst> <via>       remove <dst> <via>
//   conflict|identical <dst> <desired via> <the route as ip prints it> <the command that removes it>
// Any route to a desired destination is foreign unless it carries our protocol (by number, or by the name
// this script registers): other next hops, other metrics, blackhole/unreachable/prohibit/throw routes.
// `identical` is a plain route via the desired next hop with the default metric: what `ip route add` made.
const CHECK = String.raw`
for fam in 4 6; do ip -"$fam" route show table main; done >"$WORK/table"
awk -v proto="$PROTO" -v name=${ROUTE_PROTO_NAME} -v adopt="$ADOPT" '
  BEGIN {
    OFS = "\t"
    split("unicast unreachable blackhole prohibit local broadcast throw nat anycast multicast", t, " ")
    for (i in t) types[t[i]] = 1
  }
  FILENAME == ARGV[1] { want[$1] = $2; order[++n] = $1; next }
  /^[ \t]/ { next }
  {
    s = 1; type = ""
    if ($1 in types) { type = $1; s = 2 }
    dst = $s
    if (dst == "default") next
    if (dst !~ /\//) dst = dst (dst ~ /:/ ? "/128" : "/32")
    via = ""; p = ""; metric = ""
    for (i = s + 1; i < NF; i++) {
      if ($i == "via") via = $(i + 1)
      else if ($i == "proto") p = $(i + 1)
      else if ($i == "metric") metric = $(i + 1)
    }
    if (p == proto || p == name) { ours[dst] = via; next }
    if (!(dst in want)) next
    line = $0; gsub(/[ \t]+/, " ", line); sub(/ $/, "", line)
    if (p == "") line = line " proto boot"
    k = ++nf[dst]
    fline[dst, k] = line
    fhint[dst, k] = "ip route del " (type != "" ? type " " : "") $s (via != "" ? " via " via : "") (metric != "" ? " metric " metric : "")
    fsame[dst, k] = (type == "" || type == "unicast") && via == want[dst] && (metric == "" || (dst ~ /:/ && metric == "1024"))
  }
  END {
    for (k = 1; k <= n; k++) {
      d = order[k]
      if (d in nf) {
        for (j = 1; j <= nf[d]; j++) {
          if (nf[d] == 1 && fsame[d, j] && adopt == 1) print "adopt", d, want[d]
          else print (nf[d] == 1 && fsame[d, j] ? "identical" : "conflict"), d, want[d], fline[d, j], fhint[d, j]
        }
      }
      else if (!(d in ours)) print "add", d, want[d]
      else if (ours[d] != want[d]) print "change", d, want[d]
      else print "keep", d, want[d]
    }
    for (d in ours) if (!(d in want)) print "remove", d, ours[d]
  }
' "$WORK/desired" "$WORK/table" >"$WORK/verdicts"

problems=0
while IFS="$TAB" read -r verdict dst want what hint; do
  case "$verdict" in
    conflict)
      echo "pod-routes: host $HOST already has a route $what that pod-routes did not create; it conflicts with the desired $dst via $want. Remove it ($hint) or change the spec, then run again." >&2
      problems=$((problems + 1)) ;;
    identical)
      echo "pod-routes: host $HOST already has the route $what, made by hand (pod-routes did not create it). Set pod-routes:adopt to true to let pod-routes take it over, or remove it ($hint) and run again." >&2
      problems=$((problems + 1)) ;;
  esac
done <"$WORK/verdicts"

# Every next hop a change needs must be on a directly connected network, or the route cannot work.
# One "ip -batch" of "route get" for all distinct next hops keeps this fast for thousands of routes.
awk -F '\t' '$1 == "add" || $1 == "change" || $1 == "adopt" { if (!seen[$3]++) print $3 }' "$WORK/verdicts" >"$WORK/hops"
if [ -s "$WORK/hops" ]; then
  sed 's/^/route get /' "$WORK/hops" | ip -force -batch - >"$WORK/hops.out" 2>/dev/null || true
  awk 'FILENAME == ARGV[1] { hop[$1] = 1; next }
       ($1 in hop) { found[$1] = 1; if ($0 ~ / via /) print "indirect", $1, $3 }
       END { for (h in hop) if (!(h in found)) print "unreachable", h }' "$WORK/hops" "$WORK/hops.out" >"$WORK/hop-problems"
  while read -r kind hop gw; do
    if [ "$kind" = indirect ]; then
      echo "pod-routes: host $HOST cannot reach next hop $hop directly (it is routed via $gw); the nodes must share a network." >&2
    else
      echo "pod-routes: host $HOST has no route to next hop $hop; check the node's address and interfaces." >&2
    fi
    problems=$((problems + 1))
  done <"$WORK/hop-problems"
fi

# The /etc/hosts this host should have: its own lines, plus the block on controllers.
if [ -f /etc/hosts ] || [ "$MANAGE_HOSTS" = 1 ]; then
  if [ -f /etc/hosts ] && ! hosts_without_block "$WORK/hosts"; then
    echo "pod-routes: host $HOST has a damaged pod-routes block in /etc/hosts (its marker lines do not pair up); fix or remove the block by hand, then run again." >&2
    problems=$((problems + 1))
  fi
  [ -f "$WORK/hosts" ] || : >"$WORK/hosts"
  if [ "$MANAGE_HOSTS" = 1 ]; then
    { echo '${HOSTS_BEGIN}'; cat "$WORK/hosts-block"; echo '${HOSTS_END}'; } >>"$WORK/hosts"
  fi
fi

if [ "$problems" -gt 0 ]; then
  echo "pod-routes: host $HOST: $problems problem(s); nothing was changed on this host." >&2
  exit 1
fi`;

// Routes: one batch for both families (ip tells them apart by the addresses); put back on failure.
const CHANGE = String.raw`
added=0; changed=0; adopted=0; removed=0; unchanged=0
: >"$WORK/batch"
while IFS="$TAB" read -r verdict dst via rest; do
  case "$verdict" in
    add) echo "route replace $dst via $via proto $PROTO" >>"$WORK/batch"; added=$((added + 1)) ;;
    change) echo "route replace $dst via $via proto $PROTO" >>"$WORK/batch"; changed=$((changed + 1)) ;;
    adopt) echo "route replace $dst via $via proto $PROTO" >>"$WORK/batch"; adopted=$((adopted + 1)) ;;
    remove)
      if [ -n "$via" ]; then echo "route del $dst via $via proto $PROTO"; else echo "route del $dst proto $PROTO"; fi >>"$WORK/batch"
      removed=$((removed + 1)) ;;
    keep) unchanged=$((unchanged + 1)) ;;
  esac
done <"$WORK/verdicts"

# Our routes as they were, to put back if the batch fails half-way.
ip -4 route show table main proto "$PROTO" >"$WORK/before4"
ip -6 route show table main proto "$PROTO" >"$WORK/before6"
restore() {
  echo "pod-routes: host $HOST: a route change failed; restoring the routes pod-routes had before." >&2
  for fam in 4 6; do
    ip -"$fam" route flush table main proto "$PROTO" 2>/dev/null || true
    while read -r line; do
      # shellcheck disable=SC2086
      ip -"$fam" route replace $line proto "$PROTO" 2>/dev/null || true
    done <"$WORK/before$fam"
  done
  exit 1
}
if [ -s "$WORK/batch" ]; then ip -batch - <"$WORK/batch" || restore; fi`;

// Files, each written only when its content differs (so a second run changes nothing on disk either), by
// rename so that a crash never leaves half a file. Directories pod-routes creates are remembered, and
// the delete script removes them again.
const PERSIST = String.raw`
mkdirs() {
  for d in "$@"; do
    missing=""
    p=$d
    while [ ! -d "$p" ]; do missing="$p $missing"; p=$(dirname "$p"); done
    for m in $missing; do
      mkdir "$m"
      echo "$m" >>${CREATED_DIRS_FILE}
      files_changed="$files_changed $m/"
    done
  done
}
put() { # path mode, content on stdin
  cat >"$WORK/new"
  if [ -f "$1" ] && cmp -s "$WORK/new" "$1"; then return 0; fi
  mkdirs "$(dirname "$1")"
  cp "$WORK/new" "$1.pod-routes-tmp"
  chmod "$2" "$1.pod-routes-tmp"
  mv -f "$1.pod-routes-tmp" "$1"
  files_changed="$files_changed $1"
}
if [ ! -d ${STATE_DIR} ]; then mkdir -p ${STATE_DIR}; files_changed="$files_changed ${STATE_DIR}/"; fi
# Delete scripts of other pod-routes commands leave this host alone from now on (see the delete script).
# (put reads a file, not a pipe: a function at the end of a pipeline runs in a subshell and its changes
# to files_changed would be lost.)
echo "$HOST" >"$WORK/owner"
put ${OWNER_FILE} 0644 <"$WORK/owner"
printf '${ROUTE_PROTO}\t${ROUTE_PROTO_NAME}\n' >"$WORK/proto"
put ${PROTO_FILE} 0644 <"$WORK/proto"
sed 's/^\([^ ]*\) \([^ ]*\)$/route replace \1 via \2 proto '"$PROTO"'/' "$WORK/desired" >"$WORK/state"
put ${STATE_FILE} 0644 <"$WORK/state"
put ${BOOT_SCRIPT} 0755 <<'POD_ROUTES_EOF'
#!/bin/sh
# pod-routes: re-installs this host's pod routes at boot from ${STATE_FILE} (ip -batch lines).
# Retries for a minute: the interfaces the next hops are on may come up after this unit starts.
[ -s ${STATE_FILE} ] || exit 0
tries=0
until ip -force -batch ${STATE_FILE}; do
  tries=$((tries + 1))
  if [ "$tries" -ge 30 ]; then
    echo "pod-routes: could not install every route from ${STATE_FILE}" >&2
    exit 1
  fi
  sleep 2
done
POD_ROUTES_EOF
put ${UNIT_FILE} 0644 <<'POD_ROUTES_EOF'
[Unit]
Description=pod-routes: routes to the other nodes' pod subnets
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh ${BOOT_SCRIPT}

[Install]
WantedBy=multi-user.target
POD_ROUTES_EOF
# Enabled by its symlink; systemd is only asked to reload where it runs (never from inside a test lab).
if [ "$(readlink ${UNIT_LINK} 2>/dev/null || true)" != "${UNIT_FILE}" ]; then
  mkdirs "$(dirname ${UNIT_LINK})"
  ln -sfn ${UNIT_FILE} ${UNIT_LINK}
  files_changed="$files_changed ${UNIT_LINK}"
fi
if [ -n "$files_changed" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
if [ -f "$WORK/hosts" ]; then hosts_write "$WORK/hosts"; fi`;

// Removes our routes (by protocol number), our files, the directories we created, and the hosts block.
// A host whose owner file names another pod-routes command is left alone: that happens when a node is
// renamed (Pulumi creates the new command, which takes the host over, before it deletes the old one), and
// the old command's delete must not undo its successor.
const DELETE = String.raw`
if [ -f ${OWNER_FILE} ]; then
  owner=$(cat ${OWNER_FILE})
  if [ "$owner" != "$HOST" ]; then
    echo "pod-routes: $HOST: this host is now managed as $owner (a later pod-routes command took it over); leaving it as it is."
    exit 0
  fi
fi
removed=0
for fam in 4 6; do
  n=$(ip -"$fam" route show table main proto "$PROTO" | wc -l)
  if [ "$n" -gt 0 ]; then ip -"$fam" route flush table main proto "$PROTO"; removed=$((removed + n)); fi
done
for f in ${UNIT_LINK} ${UNIT_FILE} ${PROTO_FILE} ${STATE_DIR}; do
  if [ -e "$f" ] || [ -L "$f" ]; then files_changed="$files_changed $f"; fi
done
rm -f ${UNIT_LINK} ${UNIT_FILE} ${PROTO_FILE}
if [ -f ${CREATED_DIRS_FILE} ]; then
  sort -r ${CREATED_DIRS_FILE} | while read -r d; do rmdir "$d" 2>/dev/null || true; done
fi
rm -rf ${STATE_DIR}
if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
status=0
if [ -f /etc/hosts ] && grep -qxF '${HOSTS_BEGIN}' /etc/hosts; then
  if hosts_without_block "$WORK/hosts"; then
    hosts_write "$WORK/hosts"
  else
    echo "pod-routes: $HOST: the pod-routes block in /etc/hosts is damaged (its marker lines do not pair up); it was left as it is: remove it by hand, then delete again." >&2
    status=1
  fi
fi
[ -n "$files_changed" ] || files_changed=" none"
echo "pod-routes: $HOST: removed $removed routes; files removed or changed: $(echo "$files_changed" | sed 's/^ //')"
exit "$status"`;

/** The scripts for one or all hosts, for people who paste by hand (`npm run routes -- script`). */
export function scriptsFor(
  spec: RouteSpec,
  options: ScriptOptions & { host?: string; prefix?: string } = {},
): HostScripts[] {
  const all = renderHostScripts(spec, options, options.prefix);
  if (options.host === undefined) return all;
  const one = all.filter((s) => s.host.name === options.host);
  if (one.length === 0) {
    throw new Error(
      `pod-routes: no host named ${JSON.stringify(options.host)}; the hosts are ${all.map((s) => s.host.name).join(", ")}`,
    );
  }
  return one;
}

/** How 0.1 sent the delete script: in the command line, base64-encoded, so any login shell only runs a pipe. */
export function viaPosixShell(script: string): string {
  return `printf '%s' '${Buffer.from(script, "utf8").toString("base64")}' | base64 -d | sh`;
}
