# shellcheck shell=sh disable=SC2034 # variables set here are used by the other parts
# pod-routes host program: remove exactly what pod-routes installed (delete), and nothing else.
#
# A host without a state file is left as it is. A host whose owner record names another identity is left
# as it is too: when a node is renamed, or moved to another stack, its successor took the host over, and
# the old command's delete must not undo it. OWNER='*' retires a host by hand, whoever owns it; a record of
# PREVIOUS_OWNER (the identity an unfinished run of the same resource may have left) is its own too.
# What goes: the routes the state file lists that are still there with protocol 156 and the recorded next
# hop (never `ip route flush proto 156`: a protocol-156 route pod-routes did not record is not its own),
# pod-routes' files, the directories it created (when empty: never `rm -rf`), and the /etc/hosts block.

pr_delete() {
  pr_read_state
  if [ "$STATE_KIND" = missing ]; then
    echo "pod-routes: $HOST: no $STATE_FILE here: pod-routes did not apply this host (or it was removed already); nothing was changed."
    return 0
  fi
  _rec=$(pr_recorded_owner)
  if [ "$OWNER" != '*' ] && [ -n "$_rec" ] && [ "$_rec" != "$OWNER" ] && [ "$_rec" != "$HOST" ] &&
    { [ -z "$PREVIOUS_OWNER" ] || [ "$_rec" != "$PREVIOUS_OWNER" ]; }; then
    echo "pod-routes: $HOST: this host is now managed as $_rec (not $OWNER); leaving it as it is."
    return 0
  fi
  : >"$WORK/desired"
  ADOPT=0
  pr_look 1
  PROBLEMS=0
  : >"$WORK/problems"
  # The block goes from /etc/hosts; a damaged one stops the delete before anything changes.
  HOSTS_NEW=""
  if [ -f /etc/hosts ] && grep -qxF "$HOSTS_BEGIN" /etc/hosts; then
    MANAGE_HOSTS=0
    pr_hosts_problems
  fi
  pr_refuse_if_problems
  pr_plan_routes
  pr_stage_init
  PHASE=staged
  for _f in "$UNIT_LINK" "$UNIT_FILE" "$RESYNC_TIMER_LINK" "$RESYNC_TIMER_FILE" "$RESYNC_SERVICE_FILE" \
    "$PROTO_FILE" "$BOOT_PROGRAM" "$LEGACY_BOOT_SCRIPT" "$OWNER_FILE" "$CREATED_DIRS_FILE" "$STATE_FILE"; do
    pr_stage_del "$_f"
  done
  if [ -n "$HOSTS_NEW" ]; then pr_stage_hosts "$HOSTS_NEW" || pr_stage_failed; fi
  # The directories pod-routes created, deepest first, then its own.
  {
    if [ -f "$CREATED_DIRS_FILE" ]; then sort -r "$CREATED_DIRS_FILE"; fi
    echo "$STATE_DIR"
  } | awk -v tab="$TAB" 'NF && !seen[$0]++ { print "rmdir" tab $0 }' >"$WORK/rmdirs"
  pr_commit "$WORK/rmdirs"
  if [ -d /run/systemd/system ] && pr_have systemctl; then
    # The unit files are gone and systemd reloaded: stop what is still loaded and forget a failed state, or
    # systemd keeps listing the units ("not-found, active" / "failed"). Cleanup only: nothing to check.
    _units="$(basename "$UNIT_FILE") $(basename "$RESYNC_TIMER_FILE") $(basename "$RESYNC_SERVICE_FILE")"
    # shellcheck disable=SC2086 # three unit names, split on purpose
    systemctl stop $_units 2>/dev/null || true
    # shellcheck disable=SC2086
    systemctl reset-failed $_units 2>/dev/null || true
  fi
  while IFS="$TAB" read -r _op _d; do
    if [ ! -d "$_d" ]; then FILES_CHANGED="$FILES_CHANGED $_d/"; fi
  done <"$WORK/rmdirs"
  if [ -d "$STATE_DIR" ]; then
    pr_say "host $HOST: $STATE_DIR holds files pod-routes did not create ($(find "$STATE_DIR" -mindepth 1 -maxdepth 1 -printf '%f ')); it was left in place."
  fi
  FILES_CHANGED=${FILES_CHANGED# }
  echo "pod-routes: $HOST: removed $REMOVED routes; files removed or changed: ${FILES_CHANGED:-none}"
}
