# shellcheck shell=sh disable=SC2034 # variables set here are used by the other parts
# pod-routes host program: the entry points.
#
# A script sent over SSH (ssh/host-program/render.ts) sets MODE and the run's variables, defines this program's
# functions and calls pr_main. The boot program (/etc/pod-routes/apply.sh, this same program written by
# the apply) ends with `{ pod_routes_boot "$@" </dev/null; }`: `sh /etc/pod-routes/apply.sh boot|resync|check` re-applies
# (or reports) the state file's routes with the same checks as the apply, and never changes a route
# pod-routes did not create.
#
# Besides the variables common.sh lists, a script sent over SSH sets PREVIOUS_OWNER (an owner identity this
# run may also take the host over from: what the same resource recorded before; empty: none) and NONCE
# (empty, or this run's nonce: a run that ends well then prints `$DONE_MARK<TAB>$NONCE` as its very last
# line of stdout, which the provider requires, since an exit status of 0 alone proves nothing).

pr_main() {
  pr_setup
  pr_lock
  case "$MODE" in
    apply | boot | resync)
      pr_finish_journal
      pr_remove_strays
      pr_reconcile
      ;;
    check) pr_reconcile ;;
    state)
      # A check against the host's own state file (a refresh): pr_read_state has put its routes (the legacy
      # format too, and a journal's outcome) in $WORK/state; they are the desired routes.
      MODE=check
      # shellcheck disable=SC2317 # called by pr_reconcile
      pr_desired() { cat "$WORK/state"; }
      pr_reconcile
      ;;
    delete)
      pr_finish_journal
      pr_remove_strays
      pr_delete
      ;;
    *) pr_fail "$EX_CANNOT" "unknown mode '$MODE'" ;;
  esac
  if [ -n "$NONCE" ]; then printf '%s\t%s\n' "$DONE_MARK" "$NONCE"; fi
}

pod_routes_boot() (
  set -eu
  MODE=${1:-boot}
  case "$MODE" in
    boot | resync | check) ;;
    *)
      echo "usage: sh $BOOT_PROGRAM boot|resync|check" >&2
      exit 2
      ;;
  esac
  HOST=$(uname -n)
  OWNER=""
  ADOPT=0
  MANAGE_HOSTS=0
  RESYNC=""
  LOCK_WAIT=$DEFAULT_LOCK_WAIT
  PREVIOUS_OWNER=""
  NONCE=""
  # The desired routes are the state file's (a check by hand compares the host with it).
  # shellcheck disable=SC2317 # called by pr_reconcile
  pr_desired() { cat "$STATE_FILE" 2>/dev/null || true; }
  # shellcheck disable=SC2317 # called by pr_hosts_render (never at boot)
  pr_hosts_block() { :; }
  pr_main
)
