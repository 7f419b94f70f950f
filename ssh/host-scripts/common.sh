# shellcheck shell=sh disable=SC2034 # variables set here are used by the other parts
# pod-routes host program: common pieces (messages, the scratch directory, traps, the routing table, the
# state and owner records, /etc/hosts). POSIX sh: dash and bash alike.
#
# ssh/scripts.ts puts these files, in order, into one program (see main.sh) after the constants
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

# Exit statuses (also in ssh/scripts.ts, EXIT_CODES).
EX_REFUSED=1    # a problem found before any change; nothing was changed
EX_ROLLEDBACK=3 # a route change failed; what had changed was put back
EX_CANNOT=4     # cannot run here (not root, a tool missing, /etc/pod-routes unreadable)
EX_LOCKED=75    # another run held the lock for longer than LOCK_WAIT

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

# The owner record's identity ("" when there is none).
pr_recorded_owner() {
  _owner_file=$(pr_current "$OWNER_FILE")
  if [ -f "$_owner_file" ]; then sed -n '1{s/[[:cntrl:]]//g;p;}' "$_owner_file"; fi
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

# The main table and the policy rules as `ip -N` prints them (numbers, never names: a site file may give
# protocol 156 another name), then the verdicts (verdicts.awk) into $WORK/verdicts.
pr_look() {
  if ! ip -N -4 route show table main >"$WORK/table" 2>"$WORK/ip.err"; then
    pr_fail "$EX_CANNOT" "host $HOST: cannot read the routing table with 'ip -N route show' (iproute2 4.20 or later is needed): $(cat "$WORK/ip.err")"
  fi
  # A kernel without IPv6 has no IPv6 table: that is fine unless IPv6 routes are desired (they would fail
  # in the check of their next hops).
  ip -N -6 route show table main >>"$WORK/table" 2>/dev/null || true
  { ip -N -4 rule show 2>/dev/null || true; ip -N -6 rule show 2>/dev/null || true; } >"$WORK/rules"
  awk -v adopt="$ADOPT" -v exact="${1:-0}" -f "$WORK/verdicts.awk" \
    "$WORK/desired" "$WORK/state" "$WORK/table" "$WORK/rules" >"$WORK/verdicts"
}

# Every next hop a change needs must be on a directly connected network: one `ip -batch` of `route get`.
# Writes the problems (`indirect|local|unreachable <hop> [gateway]`) to $WORK/hop-problems.
pr_check_hops() {
  awk -F "$TAB" '($1 == "add" || $1 == "change" || $1 == "adopt") && !seen[$3]++ { print $3 }' \
    "$WORK/verdicts" >"$WORK/hops"
  : >"$WORK/hop-problems"
  [ -s "$WORK/hops" ] || return 0
  sed 's/^/route get /' "$WORK/hops" | ip -force -batch - >"$WORK/hops.out" 2>/dev/null || true
  awk -v mode=hops -f "$WORK/verdicts.awk" "$WORK/hops" "$WORK/hops.out" >"$WORK/hop-problems"
}

# The messages for every problem the look found, into $WORK/problems; PROBLEMS counts them and
# HOP_PROBLEMS the next-hop ones (the boot program waits for those).
pr_problems() {
  PROBLEMS=0
  HOP_PROBLEMS=0
  : >"$WORK/problems"
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
  done <"$WORK/verdicts" >>"$WORK/problems"
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

# The route changes as one batch ($WORK/batch), what puts every route back as it was ($WORK/undo), the
# route deletions a journal must finish ($WORK/route-dels), and the counts.
pr_plan_routes() {
  awk -F "$TAB" -v proto="$PROTO" -v batch="$WORK/batch" -v undo="$WORK/undo" -v dels="$WORK/route-dels" \
    -v counts="$WORK/counts" '
    BEGIN { printf "" >batch; printf "" >undo; printf "" >dels }
    $1 == "add" { print "route replace " $2 " via " $3 " proto " proto >batch
      print "route del " $2 " via " $3 " proto " proto >undo; n["added"]++ }
    $1 == "change" { print "route replace " $2 " via " $3 " proto " proto >batch
      print "route replace " $2 " via " $4 " proto " proto >undo; n["changed"]++ }
    $1 == "adopt" {
      # The hand-made route comes back as it was: its device and protocol (numeric; "boot" when none).
      dev = ""; p = "boot"; k = split($4, w, " ")
      for (i = 1; i < k; i++) { if (w[i] == "dev") dev = " dev " w[i + 1]; if (w[i] == "proto") p = w[i + 1] }
      print "route replace " $2 " via " $3 " proto " proto >batch
      print "route replace " $2 " via " $3 dev " proto " p >undo; n["adopted"]++ }
    $1 == "remove" { print "route del " $2 " via " $3 " proto " proto >batch
      print "route replace " $2 " via " $3 " proto " proto >undo
      print "route-del\t" $2 "\t" $3 >dels; n["removed"]++ }
    $1 == "keep" { n["unchanged"]++ }
    END { printf "added=%d changed=%d adopted=%d removed=%d unchanged=%d\n", n["added"], n["changed"],
      n["adopted"], n["removed"], n["unchanged"] >counts }
  ' "$WORK/verdicts"
  # Counts as shell variables, from a file of our own making.
  read -r _c_added _c_changed _c_adopted _c_removed _c_unchanged <"$WORK/counts"
  ADDED=${_c_added#added=}
  CHANGED=${_c_changed#changed=}
  ADOPTED=${_c_adopted#adopted=}
  REMOVED=${_c_removed#removed=}
  UNCHANGED=${_c_unchanged#unchanged=}
}

# Runs the batch; on failure puts back every route it may have touched (each undo line is idempotent)
# and returns non-zero.
pr_run_batch() {
  [ -s "$WORK/batch" ] || return 0
  if ip -batch "$WORK/batch" 2>"$WORK/batch.err"; then return 0; fi
  ip -force -batch "$WORK/undo" >/dev/null 2>&1 || true
  return 1
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
