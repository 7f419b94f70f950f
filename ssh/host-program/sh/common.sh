# shellcheck shell=sh disable=SC2034 # variables set here are used by the other parts
# pod-routes host program: common pieces (messages, the scratch directory, traps, the routing table, the
# state and owner records, /etc/hosts). POSIX sh: dash and bash alike.
#
# ssh/host-program/render.ts puts these files, in order, into one program (see main.sh) after the constants
# (PROTO, STATE_DIR, STATE_FILE, …) and, for a script sent over SSH, after the run's variables:
#   MODE          apply | check | delete | boot | resync
#   HOST          the host's name, for messages
#   OWNER         the owner identity (`<stack part>:<node part>`), or '*' for a delete that retires by hand
#   ADOPT         1: take over hand-made routes identical to desired ones
#   MANAGE_HOSTS  1: this host keeps the managed /etc/hosts block (pr_hosts_block prints its lines)
#   RESYNC        the periodic resync interval ("15min"), or empty for none
#   LOCK_WAIT     seconds to wait for another run's lock
# and the functions pr_desired (desired routes, `<dst> <via> <node>` per line), pr_hosts_block and
# pr_verdicts_awk (verdicts.awk).

# Exit statuses: EX_REFUSED, EX_ROLLEDBACK, EX_CANNOT, EX_NOT_RESTORED and EX_LOCKED come with the constants,
# from ssh/host-program/render.ts's EXIT_CODES (what each means is said there), like every value the two sides share.

pr_say() { printf 'pod-routes: %s\n' "$*" >&2 || true; }
# Says why and ends the run with that status (the EXIT trap cleans up).
pr_fail() {
  _status=$1
  shift
  pr_say "$@"
  exit "$_status"
}
# An executable command on PATH (dash's `command -v` skips files that are not executable; bash's does not).
pr_have() {
  _path=$(command -v "$1" 2>/dev/null) || return 1
  [ -x "$_path" ]
}

# ---------------------------------------------------------------------------------------- setup, traps

# PHASE says what an interruption has to undo: look (nothing yet), staged (directories made and files
# staged, no route changed: remove them), commit (the journal is written: finish, signals are ignored).
pr_setup() {
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  LC_ALL=C
  export PATH LC_ALL
  umask 022
  TAB=$(printf '\t')
  WORK=""
  PHASE=look
  FILES_CHANGED=""
  LOOK_EXACT=0
  BATCH_DONE=0
  trap pr_on_exit EXIT
  trap 'pr_on_signal HUP 129' HUP
  trap 'pr_on_signal INT 130' INT
  trap 'pr_on_signal TERM 143' TERM
  trap 'pr_on_signal PIPE 141' PIPE
  [ "$(id -u)" = 0 ] || pr_fail "$EX_CANNOT" "host $HOST: must run as root (it changes routes and files under /etc); run it with sudo."
  for _tool in ip awk mktemp cmp sed sort stat readlink; do
    pr_have "$_tool" || pr_fail "$EX_CANNOT" "host $HOST: the command '$_tool' is missing; pod-routes needs iproute2, coreutils and an awk."
  done
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/pod-routes.XXXXXX") ||
    pr_fail "$EX_CANNOT" "host $HOST: cannot create a temporary directory in ${TMPDIR:-/tmp}."
  pr_verdicts_awk >"$WORK/verdicts.awk"
}

pr_on_exit() {
  if [ "$PHASE" = staged ]; then pr_unstage; fi
  if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
  pr_unlock
}

pr_on_signal() {
  trap '' HUP INT TERM PIPE
  if [ "$PHASE" = staged ]; then
    pr_unstage
    pr_say "host $HOST: interrupted ($1) before any route changed; nothing was changed on this host."
  else
    pr_say "host $HOST: interrupted ($1)."
  fi
  exit "$2"
}

# --------------------------------------------------------------------------------- records on the host

# Where the file $1 is as the host stands: itself, or for a check (which changes nothing, so does not
# finish the journal of an interrupted run) what that journal makes of it: its staged file, or nothing.
pr_current() {
  if [ "$MODE" = check ] && [ -f "$JOURNAL_FILE" ]; then
    awk -F "$TAB" -v t="$1" '
      ($1 == "put" && $3 == t) || ($1 == "del" && $2 == t) { found = 1; if ($1 == "put") print $2; else print "/nonexistent" }
      END { if (!found) print t }
    ' "$JOURNAL_FILE"
  else
    echo "$1"
  fi
}

# The owner record's identity ("" when there is none). One that cannot be read ends the run: read as none,
# another stack's host would be taken over.
pr_recorded_owner() {
  _owner_file=$(pr_current "$OWNER_FILE")
  if [ -f "$_owner_file" ]; then
    sed -n '1{s/[[:cntrl:]]//g;p;}' "$_owner_file" || pr_fail "$EX_CANNOT" "host $HOST: cannot read $OWNER_FILE."
  fi
}
# An owner record written by pod-routes before owner identities: the bare host name.
pr_legacy_owner() {
  printf '%s\n' "$1" | grep -Eq '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$'
}

# The state file into $WORK/state and STATE_KIND: present, legacy (lines `route replace … proto 156`,
# written before the header existed) or missing.
pr_read_state() {
  _state_file=$(pr_current "$STATE_FILE")
  if [ -f "$_state_file" ]; then
    cp "$_state_file" "$WORK/state" || pr_fail "$EX_CANNOT" "host $HOST: cannot read $STATE_FILE."
    if [ "$(sed -n 1p "$WORK/state")" = "$STATE_HEADER" ]; then STATE_KIND=present; else STATE_KIND=legacy; fi
  else
    : >"$WORK/state"
    STATE_KIND=missing
  fi
}

# ---------------------------------------------------------------------------------------------- routes

# The address families ("4", "6" or "46") of the routes in the given files (desired or state routes,
# `route …` lines alike): those whose routes and rules a run has to read.
pr_families() {
  awk 'NF && $1 !~ /^#/ { d = ($1 == "route") ? $3 : $1; if (index(d, ":")) six = 1; else four = 1 }
    END { printf "%s%s\n", four ? "4" : "", six ? "6" : "" }' "$@"
}

# The main table into $2, and the policy rules into $3 (optional), of the families in $1, as `ip -N`
# prints them (numbers, never names: a site file may give protocol 156 another name). IPv4's table is
# always read (that also proves an ip with -N). Fails closed: a dump that fails, or stays interrupted
# (routes changing meanwhile) after three tries, returns 1 with DUMP_ERR naming the command and its error.
# Only a family the kernel does not have (EAFNOSUPPORT: no IPv6, or ipv6.disable=1) reads as empty: such a
# host has no routes and no rules of it.
pr_dump() {
  DUMP_ERR=""
  : >"$2"
  pr_dump_one "$2" -4 route show table main || return 1
  case "$1" in *6*) pr_dump_one "$2" -6 route show table main || return 1 ;; esac
  [ -n "${3:-}" ] || return 0
  : >"$3"
  case "$1" in *4*) pr_dump_one "$3" -4 rule show || return 1 ;; esac
  case "$1" in *6*) pr_dump_one "$3" -6 rule show || return 1 ;; esac
}
pr_dump_one() {
  _to=$1
  shift
  _try=1
  while :; do
    _status=0
    ip -N "$@" >"$WORK/dump.out" 2>"$WORK/dump.err" || _status=$?
    _err=$(tr '\n' ' ' <"$WORK/dump.err")
    _err=${_err% }
    case "$_status:$1:$_err" in
      *"Dump was interrupted"*)
        # Routes changed while ip read them (it may still exit 0): read again.
        if [ "$_try" -lt 3 ]; then
          _try=$((_try + 1))
          continue
        fi
        ;;
      0:*)
        cat "$WORK/dump.out" >>"$_to"
        return 0
        ;;
      *:-6:*"Address family not supported"*) return 0 ;;
    esac
    DUMP_ERR="'ip -N $*' failed: ${_err:-exit status $_status}"
    if [ "$*" = "-4 route show table main" ]; then DUMP_ERR="$DUMP_ERR (iproute2 4.20 or later is needed)"; fi
    return 1
  done
}

# The verdicts (verdicts.awk) of the desired routes against the state routes in $1 and the routes and rules
# last read ($WORK/table, $WORK/rules).
pr_verdicts() {
  awk -v adopt="$ADOPT" -v exact="$LOOK_EXACT" -v proto="$PROTO" -f "$WORK/verdicts.awk" \
    "$WORK/desired" "$1" "$WORK/table" "$WORK/rules"
}

# Reads the routing table and the policy rules, then the verdicts into $WORK/verdicts ($1: 1 for exact, as
# the delete wants). Any route or rule that cannot be read ends the run before anything changes.
pr_look() {
  LOOK_EXACT=${1:-0}
  _fams=$(pr_families "$WORK/desired" "$WORK/state")
  pr_dump "$_fams" "$WORK/table" "$WORK/rules" ||
    pr_fail "$EX_CANNOT" "host $HOST: cannot read its routes and policy rules: $DUMP_ERR; nothing was changed on this host."
  pr_verdicts "$WORK/state" >"$WORK/verdicts"
}

# Every next hop a change needs must be on a directly connected network: one `ip -batch` of `route get`.
# Writes the problems (`indirect|local|unreachable <hop> [gateway]`) to $WORK/hop-problems.
pr_check_hops() {
  awk -F "$TAB" '($1 == "add" || $1 == "change" || $1 == "adopt") && !seen[$3]++ { print $3 }' \
    "$WORK/verdicts" >"$WORK/hops"
  : >"$WORK/hop-problems"
  [ -s "$WORK/hops" ] || return 0
  # `route get` fails for a next hop without a route: a hop that gets no answer, for whatever reason,
  # is `unreachable` (this check fails closed without the status).
  sed 's/^/route get /' "$WORK/hops" | ip -force -batch - >"$WORK/hops.out" 2>/dev/null || true
  awk -v mode=hops -v proto="$PROTO" -f "$WORK/verdicts.awk" "$WORK/hops" "$WORK/hops.out" >"$WORK/hop-problems"
}

# The messages for every problem the look found, into $WORK/problems; PROBLEMS counts them and
# HOP_PROBLEMS the next-hop ones (the boot program waits for those).
pr_problems() {
  PROBLEMS=0
  HOP_PROBLEMS=0
  : >"$WORK/problems"
  pr_verdict_problems "$WORK/verdicts" >>"$WORK/problems"
  pr_check_hops
  while IFS="$TAB" read -r _kind _hop _gw; do
    case "$_kind" in
      indirect) printf '%s\n' "pod-routes: host $HOST cannot reach next hop $_hop directly (it is routed via $_gw); the nodes must share a network." ;;
      local) printf '%s\n' "pod-routes: host $HOST: next hop $_hop is an address of this host itself." ;;
      *) printf '%s\n' "pod-routes: host $HOST has no route to next hop $_hop; check the node's address and interfaces." ;;
    esac
    PROBLEMS=$((PROBLEMS + 1))
    HOP_PROBLEMS=$((HOP_PROBLEMS + 1))
  done <"$WORK/hop-problems" >>"$WORK/problems"
}
# The messages for the routes and rules in the way (and lines that are not routes) among the verdicts in
# $1; PROBLEMS counts them.
pr_verdict_problems() {
  while IFS="$TAB" read -r _verdict _dst _want _what _hint; do
    case "$_verdict" in
      conflict)
        printf '%s\n' "pod-routes: host $HOST already has $(pr_thing "$_what") that pod-routes did not create; it conflicts with the desired $_dst via $_want. Remove it ($_hint) or change the spec, then run again."
        ;;
      identical)
        printf '%s\n' "pod-routes: host $HOST already has the route $_what, made by hand (pod-routes did not create it). Set pod-routes:adopt to true to let pod-routes take it over, or remove it ($_hint) and run again."
        ;;
      invalid)
        printf '%s\n' "pod-routes: host $HOST: the $_want routes hold a line that is not a route: '$_dst'."
        ;;
      *) continue ;;
    esac
    PROBLEMS=$((PROBLEMS + 1))
  done <"$1"
}
# "a route …" or "a policy rule …" for a conflict's text.
pr_thing() {
  case "$1" in
    [0-9]*:*) printf '%s\n' "a policy rule '$1' (it sends traffic for that destination elsewhere)" ;;
    *) printf '%s\n' "a route $1" ;;
  esac
}
pr_refuse_if_problems() {
  if [ "$PROBLEMS" -gt 0 ]; then
    cat "$WORK/problems" >&2 || true
    pr_fail "$EX_REFUSED" "host $HOST: $PROBLEMS problem(s); nothing was changed on this host."
  fi
}

# The route changes as one batch ($WORK/batch), for each of its lines the line that undoes it ($WORK/undo,
# line for line), the route deletions a journal must finish ($WORK/route-dels), and the counts.
# Nothing in the batch replaces a route: what must be new is added (`route add` fails when a route of
# that destination and metric is there), and what is changed or taken over is first deleted by its exact
# next hop and protocol (which fails when another route took its place since the look). Every undo line
# likewise adds or deletes exactly one route, so that a rollback never replaces or removes a route
# pod-routes did not have. Every protocol in a batch is a number, never a name: ip (iproute2 up to 6.x at
# least) keeps the last protocol name it looked up, and within one `ip -batch` a name seen again after a
# number reads as that number (`proto boot` after `proto 156` deletes or adds a protocol-156 route).
pr_plan_routes() {
  awk -F "$TAB" -v proto="$PROTO" -v batch="$WORK/batch" -v undo="$WORK/undo" -v dels="$WORK/route-dels" \
    -v counts="$WORK/counts" '
    BEGIN { PNUM["kernel"] = 2; PNUM["boot"] = 3; PNUM["static"] = 4 }
    function step(b, u) { print b >batch; print u >undo }
    function add(dst, via) { step("route add " dst " via " via " proto " proto, "route del " dst " via " via " proto " proto) }
    function del(dst, via) { step("route del " dst " via " via " proto " proto, "route add " dst " via " via " proto " proto) }
    BEGIN { printf "" >batch; printf "" >undo; printf "" >dels }
    $1 == "add" { add($2, $3); n["added"]++ }
    $1 == "change" { del($2, $4); add($2, $3); n["changed"]++ }
    $1 == "adopt" {
      # The hand-made route, exactly as the look found it; it comes back with its device, protocol
      # (numeric, or as the look named it for messages: back to its number; "boot" when none) and metric.
      dev = ""; p = "boot"; m = ""; k = split($4, w, " ")
      for (i = 1; i < k; i++) {
        if (w[i] == "dev") dev = " dev " w[i + 1]
        if (w[i] == "proto") p = w[i + 1]
        if (w[i] == "metric") m = " metric " w[i + 1]
      }
      if (p in PNUM) p = PNUM[p]
      if (p !~ /^[0-9]+$/) { print "the protocol of " $4 " is not a number;"; exit 3 }
      step("route del " $2 " via " $3 " proto " p m, "route add " $2 " via " $3 dev " proto " p m)
      add($2, $3); n["adopted"]++ }
    $1 == "remove" { del($2, $3); print "route-del\t" $2 "\t" $3 >dels; n["removed"]++ }
    $1 == "keep" { n["unchanged"]++ }
    END { printf "added=%d changed=%d adopted=%d removed=%d unchanged=%d\n", n["added"], n["changed"],
      n["adopted"], n["removed"], n["unchanged"] >counts }
  ' "$WORK/verdicts" >"$WORK/plan.err" 2>&1 ||
    pr_fail "$EX_CANNOT" "host $HOST: cannot plan its route changes: $(tr '\n' ' ' <"$WORK/plan.err")nothing was changed on this host."
  # Counts as shell variables, from a file of our own making.
  read -r _c_added _c_changed _c_adopted _c_removed _c_unchanged <"$WORK/counts"
  ADDED=${_c_added#added=}
  CHANGED=${_c_changed#changed=}
  ADOPTED=${_c_adopted#adopted=}
  REMOVED=${_c_removed#removed=}
  UNCHANGED=${_c_unchanged#unchanged=}
}

# Runs the batch. On failure returns 1 with BATCH_WHY (the line that failed and ip's error) and BATCH_DONE,
# the number of lines that ran (all of them when ip did not say which failed: then any may have).
pr_run_batch() {
  BATCH_DONE=0
  BATCH_WHY=""
  [ -s "$WORK/batch" ] || return 0
  if ip -batch "$WORK/batch" 2>"$WORK/batch.err"; then return 0; fi
  _n=$(sed -n 's/^Command failed .*:\([0-9][0-9]*\)$/\1/p' "$WORK/batch.err" | sed -n 1p)
  _err=$(sed '/^Command failed /d' "$WORK/batch.err" | tr '\n' ' ')
  _err=${_err% }
  if [ -n "$_n" ]; then
    BATCH_DONE=$((_n - 1))
    BATCH_WHY="$(sed -n "${_n}p" "$WORK/batch"): ${_err:-failed}"
  else
    BATCH_DONE=$(awk 'END { print NR }' "$WORK/batch")
    BATCH_WHY=${_err:-ip -batch failed}
  fi
  return 1
}

# After the batch, before anything is recorded: every desired route is pod-routes' own (protocol 156, the
# desired next hop) and nothing else is in its way, as the look found. A route or policy rule put there by
# something else between the look and the batch (`route add` fails only on a route of the same metric)
# fails this; the caller rolls back rather than record a route that is not its own. Returns 1 with
# VERIFY_WHY.
pr_verify_routes() {
  VERIFY_WHY=""
  [ $((ADDED + CHANGED + ADOPTED)) -gt 0 ] || return 0
  awk 'NF >= 2 && $1 !~ /^#/ { print $1, $2 }' "$WORK/desired" >"$WORK/verify-state"
  _fams=$(pr_families "$WORK/desired")
  if ! pr_dump "$_fams" "$WORK/table" "$WORK/rules"; then
    VERIFY_WHY="the routes cannot be read back: $DUMP_ERR"
    return 1
  fi
  awk -v adopt=0 -v proto="$PROTO" -f "$WORK/verdicts.awk" "$WORK/desired" "$WORK/verify-state" "$WORK/table" "$WORK/rules" |
    awk -F "$TAB" '$1 != "keep"' >"$WORK/verify-bad"
  [ -s "$WORK/verify-bad" ] || return 0
  VERIFY_WHY="routes changed while it ran: $(awk -F "$TAB" '
    $1 == "conflict" || $1 == "identical" { what = $4 " is in the way of " $2 }
    $1 != "conflict" && $1 != "identical" { what = $2 " via " $3 " is not as installed (" $1 ")" }
    { printf "%s%s", (NR > 1 ? "; " : ""), what }
  ' "$WORK/verify-bad")"
  return 1
}

# Undoes the first $1 lines of the batch, last first, then checks how the routes stand: each route an undo
# line adds (or deletes) must be there (or gone). Writes what is not, in words, to $WORK/unrestored and
# returns 1 when there is any.
pr_undo_routes() {
  : >"$WORK/unrestored"
  awk -v n="$1" 'NR <= n { l[NR] = $0 } END { for (i = n; i > 0; i--) if (i in l) print l[i] }' \
    "$WORK/undo" >"$WORK/undo-run"
  [ -s "$WORK/undo-run" ] || return 0
  # A line fails when its route changed meanwhile (or was never touched, when ip did not say how far the
  # batch went): what counts is how the routes stand, checked next.
  ip -force -batch "$WORK/undo-run" >/dev/null 2>"$WORK/undo.err" || :
  if ! pr_expect "$WORK/undo-run" >"$WORK/unrestored"; then
    echo "whether they are back cannot be told: $DUMP_ERR" >"$WORK/unrestored"
  fi
  if [ -s "$WORK/unrestored" ]; then return 1; fi
}

# Whether the `route add|del <dst> via <hop> … proto <p> …` lines in $1 took: prints, one per line, each
# route (the last line about it counts) that is missing or still there, in words, with the command that
# puts it right. Returns 1 when the routes cannot be read (DUMP_ERR).
pr_expect() {
  _fams=$(pr_families "$1")
  pr_dump "$_fams" "$WORK/expect-table" || return 1
  awk -v mode=expect -v proto="$PROTO" -f "$WORK/verdicts.awk" "$1" "$WORK/expect-table" | awk -F "$TAB" '
    $1 == "missing" { print $2 " via " $3 " proto " $4 " is missing (ip " $5 " puts it back)" }
    $1 == "left" { print $2 " via " $3 " proto " $4 " is still there (ip " $5 " removes it)" }'
}

# After a rollback: what is in the way now, named as the look names it (best effort: the run fails anyway).
pr_relook() {
  _fams=$(pr_families "$WORK/desired" "$WORK/state") || return 0
  pr_dump "$_fams" "$WORK/table" "$WORK/rules" || return 0
  pr_verdicts "$WORK/state" >"$WORK/verdicts" || return 0
  pr_verdict_problems "$WORK/verdicts" >&2 || :
}

# -------------------------------------------------------------------------------------------- /etc/hosts

# /etc/hosts as it should be, into $1: the managed block replaced in place (appended when there is none)
# on a host that manages it, removed on one that does not; hand edits elsewhere are kept. Returns 3 when
# the markers do not pair up, so that a damaged block never costs the lines after it.
pr_hosts_render() {
  if [ "$MANAGE_HOSTS" = 1 ]; then pr_hosts_block >"$WORK/hosts-block"; else : >"$WORK/hosts-block"; fi
  _src=/etc/hosts
  [ -f /etc/hosts ] || _src=/dev/null
  awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" -v manage="$MANAGE_HOSTS" -v block="$WORK/hosts-block" '
    function emit(   l) {
      if (!manage || done) return
      print b
      while ((getline l < block) > 0) print l
      print e
      done = 1
    }
    $0 == b { if (skip || seen) bad = 1; skip = 1; seen = 1; emit(); next }
    $0 == e { if (!skip) bad = 1; skip = 0; next }
    !skip { print }
    END { if (skip || bad) exit 3; emit() }
  ' "$_src" >"$1"
}

# present | missing | damaged, and the block's lines into $WORK/hosts-lines.
pr_hosts_status() {
  : >"$WORK/hosts-lines"
  if [ ! -f /etc/hosts ]; then echo missing; return 0; fi
  awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" -v lines="$WORK/hosts-lines" '
    $0 == b { if (skip || seen) bad = 1; skip = 1; seen = 1; next }
    $0 == e { if (!skip) bad = 1; skip = 0; next }
    skip { print >lines }
    END { print (skip || bad) ? "damaged" : seen ? "present" : "missing" }
  ' /etc/hosts
}
