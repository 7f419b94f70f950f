# shellcheck shell=sh disable=SC2034 # variables set here are used by the other parts
# pod-routes host program: make the host match its desired routes (apply; boot and resync from the state
# file), or only report how it stands (check). One path for all: look, refuse on any problem, stage the
# files, change the routes in one batch, commit.

# The owner record names a pod-routes command elsewhere: a host is taken over when it has none, an old
# one (a bare host name, from before owner identities), one of the same stack (`<stack>:<node>`: a node
# renamed in the same stack takes its host over) or a script run by hand (`by-hand:<host>`, what
# `pod-routes script` prints: a stack may take such a host over); another stack's host is refused.
pr_owner_problems() {
  _rec=$(pr_recorded_owner)
  if [ -z "$_rec" ] || [ "$_rec" = "$OWNER" ] || pr_legacy_owner "$_rec" || [ "${_rec%:*}" = "${OWNER%:*}" ] ||
    [ "${_rec%:*}" = by-hand ] || { [ -n "$PREVIOUS_OWNER" ] && [ "$_rec" = "$PREVIOUS_OWNER" ]; }; then
    return 0
  fi
  printf '%s\n' "pod-routes: host $HOST is managed by another pod-routes stack: $OWNER_FILE says '$_rec', this run is '$OWNER'. Release it first: remove the host from that stack (its delete runs then), or retire it by hand (\`pod-routes script --delete --host $HOST …\` prints the script that removes its routes and files; removing $OWNER_FILE lets this stack take its routes over)." >>"$WORK/problems"
  PROBLEMS=$((PROBLEMS + 1))
}

pr_hosts_problems() {
  HOSTS_NEW=""
  if [ "$MANAGE_HOSTS" != 1 ] && [ ! -f /etc/hosts ]; then return 0; fi
  if pr_hosts_render "$WORK/hosts.new"; then
    HOSTS_NEW=$WORK/hosts.new
    return 0
  fi
  printf '%s\n' "pod-routes: host $HOST has a damaged pod-routes block in /etc/hosts (its marker lines do not pair up); fix or remove the block by hand, then run again." >>"$WORK/problems"
  PROBLEMS=$((PROBLEMS + 1))
}

pr_unit_text() {
  cat <<EOF
[Unit]
Description=pod-routes: routes to the other nodes' pod subnets
Documentation=file:$BOOT_PROGRAM
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh $BOOT_PROGRAM boot

[Install]
WantedBy=multi-user.target
EOF
}

pr_resync_service_text() {
  cat <<EOF
[Unit]
Description=pod-routes: put back missing pod routes (periodic resync)
Documentation=file:$BOOT_PROGRAM
After=network-online.target $(basename "$UNIT_FILE")

[Service]
Type=oneshot
ExecStart=/bin/sh $BOOT_PROGRAM resync
EOF
}

pr_resync_timer_text() {
  cat <<EOF
[Unit]
Description=pod-routes: periodic resync every $RESYNC

[Timer]
OnBootSec=$RESYNC
OnUnitActiveSec=$RESYNC
# systemd coalesces timers to within a minute by default; keep the interval the user asked for.
AccuracySec=1s

[Install]
WantedBy=timers.target
EOF
}

# Stages every file the apply writes; any failure (a read-only or full /etc) undoes the staging and ends
# the run before a route changes.
pr_stage_apply() {
  pr_stage_init
  PHASE=staged
  printf '%s\n' "$OWNER" >"$WORK/f-owner"
  { printf '%s\n' "$STATE_HEADER"; awk 'NF >= 2 && $1 !~ /^#/ { print $1, $2 }' "$WORK/desired"; } >"$WORK/f-state"
  # The boot program is this very program, with its entry point as the last line.
  { pr_program; printf '%s\n' '{ pod_routes_boot "$@" </dev/null; }'; } >"$WORK/f-boot"
  printf '%s\t%s\n' "$PROTO" "$PROTO_NAME" >"$WORK/f-proto"
  pr_unit_text >"$WORK/f-unit"
  if ! {
    pr_stage_file "$STATE_FILE" 0644 "$WORK/f-state" &&
      pr_stage_file "$OWNER_FILE" 0644 "$WORK/f-owner" &&
      pr_stage_file "$BOOT_PROGRAM" 0755 "$WORK/f-boot" &&
      pr_stage_file "$PROTO_FILE" 0644 "$WORK/f-proto" &&
      pr_stage_file "$UNIT_FILE" 0644 "$WORK/f-unit" &&
      pr_stage_link "$UNIT_LINK" "$UNIT_FILE"
  }; then
    pr_stage_failed
  fi
  if [ -n "$RESYNC" ]; then
    pr_resync_service_text >"$WORK/f-resync-service"
    pr_resync_timer_text >"$WORK/f-resync-timer"
    if ! {
      pr_stage_file "$RESYNC_SERVICE_FILE" 0644 "$WORK/f-resync-service" &&
        pr_stage_file "$RESYNC_TIMER_FILE" 0644 "$WORK/f-resync-timer" &&
        pr_stage_link "$RESYNC_TIMER_LINK" "$RESYNC_TIMER_FILE"
    }; then
      pr_stage_failed
    fi
  else
    pr_stage_del "$RESYNC_TIMER_LINK"
    pr_stage_del "$RESYNC_TIMER_FILE"
    pr_stage_del "$RESYNC_SERVICE_FILE"
  fi
  # What pod-routes before owner identities ran at boot.
  pr_stage_del "$LEGACY_BOOT_SCRIPT"
  if [ -n "$HOSTS_NEW" ]; then pr_stage_hosts "$HOSTS_NEW" || pr_stage_failed; fi
  # Last: the directories made above join those of earlier runs, for the delete to remove.
  if [ -s "$WORK/created" ]; then
    { if [ -f "$CREATED_DIRS_FILE" ]; then cat "$CREATED_DIRS_FILE"; fi; cat "$WORK/created"; } |
      awk '!seen[$0]++' >"$WORK/f-created"
    pr_stage_file "$CREATED_DIRS_FILE" 0644 "$WORK/f-created" || pr_stage_failed
  fi
}

# The resync timer follows its unit files where systemd runs.
pr_resync_timer_follow() {
  [ -d /run/systemd/system ] && pr_have systemctl || return 0
  case "$FILES_CHANGED" in
    *"$RESYNC_TIMER_FILE"*)
      if [ -n "$RESYNC" ]; then
        systemctl restart "$(basename "$RESYNC_TIMER_FILE")" || pr_say "host $HOST: could not start the resync timer."
      else
        # Cleanup only: a timer that is not running need not stop.
        systemctl stop "$(basename "$RESYNC_TIMER_FILE")" 2>/dev/null || true
      fi
      ;;
  esac
}

# The check report (see ssh/host-program/render.ts, parseCheckReport): tab-separated, one fact per line.
pr_report() {
  # Not in a pipeline: an owner record that cannot be read ends the check (control characters are gone).
  _owner=$(pr_recorded_owner)
  printf '%s\t%s\n' "$REPORT_MARK" "$REPORT_VERSION"
  printf 'owner\t%s\n' "$_owner"
  printf 'state\t%s\n' "$STATE_KIND"
  awk -F "$TAB" '
    BEGIN { OFS = "\t" }
    function via(text,   n, w, i) {
      n = split(text, w, " ")
      for (i = 1; i < n; i++) if (w[i] == "via") return w[i + 1] == "inet6" || w[i + 1] == "inet" ? w[i + 2] : w[i + 1]
      return "-"
    }
    $1 == "keep" { print "verdict", $1, $2, $3, $3, "-" }
    $1 == "add" { print "verdict", $1, $2, $3, "-", "-" }
    $1 == "change" { print "verdict", $1, $2, $3, $4, "-" }
    $1 == "adopt" || $1 == "identical" { print "verdict", $1, $2, $3, $3, $4 }
    $1 == "conflict" { print "verdict", $1, $2, $3, via($4), $4 }
    $1 == "remove" { print "verdict", $1, $2, "-", $3, "-" }
    $1 == "invalid" { print "verdict", $1, $2, "-", "-", $3 }
  ' "$WORK/verdicts"
  _status=$(pr_hosts_status)
  printf 'hostsblock\t%s\n' "$_status"
  if [ "$_status" = present ]; then sed 's/^/hosts\t/' "$WORK/hosts-lines"; fi
  # A link that cannot be read reports the unit missing: drift the next apply repairs.
  if [ -f "$UNIT_FILE" ] && [ "$(readlink "$UNIT_LINK" 2>/dev/null || true)" = "$UNIT_FILE" ]; then
    printf 'unit\tpresent\n'
  else
    printf 'unit\tmissing\n'
  fi
}

pr_reconcile() {
  pr_read_state
  case "$MODE" in
    boot | resync)
      if [ "$STATE_KIND" = missing ]; then
        echo "pod-routes: $HOST: no $STATE_FILE; nothing to do."
        return 0
      fi
      cp "$WORK/state" "$WORK/desired"
      ;;
    *) pr_desired >"$WORK/desired" ;;
  esac
  if [ "$MODE" = check ]; then
    pr_look
    pr_report
    return 0
  fi
  # At boot the interfaces of the next hops may come up after this unit starts: wait for them (up to a
  # minute), and for nothing else.
  _tries=1
  [ "$MODE" != boot ] || _tries=30
  while :; do
    pr_look
    pr_problems
    _tries=$((_tries - 1))
    if [ "$PROBLEMS" -gt 0 ] && [ "$PROBLEMS" = "$HOP_PROBLEMS" ] && [ "$_tries" -gt 0 ]; then
      sleep 2
      continue
    fi
    break
  done
  HOSTS_NEW=""
  if [ "$MODE" = apply ]; then
    pr_owner_problems
    pr_hosts_problems
  fi
  pr_refuse_if_problems
  pr_plan_routes
  pr_stage_init
  if [ "$MODE" = apply ]; then pr_stage_apply; fi
  pr_commit
  if [ "$MODE" = apply ]; then pr_resync_timer_follow; fi
  FILES_CHANGED=${FILES_CHANGED# }
  echo "pod-routes: $HOST: added $ADDED, changed $CHANGED, adopted $ADOPTED, removed $REMOVED, unchanged $UNCHANGED; files changed: ${FILES_CHANGED:-none}"
}
