# shellcheck shell=sh disable=SC2034 # variables set here are used by the other parts
# pod-routes host program: one run at a time per host (apply, check, delete and the boot program alike).
#
# With util-linux flock: an exclusive flock on $LOCK_FILE (under /run, so a reboot clears it), waiting up
# to $LOCK_WAIT seconds; the holder writes who it is into the file so that a waiter that gives up can name
# it. Without flock: an atomic mkdir of $LOCK_FILE.d holding `<pid> <start time> <who>`; a lock whose
# process is gone (a run killed with SIGKILL, a reboot without /run on tmpfs) is stale and taken over.
# Either way a wait that times out ends the run with status 75 (EX_TEMPFAIL) naming the holder.

LOCK_HELD=""
LOCK_PID=""

# Who holds the lock, for the message of a run that waits for it.
pr_whoami() {
  printf '(%s on %s by %s, since %s)' "$MODE" "$HOST" "${OWNER:-the boot program}" \
    "$(date -u '+%Y-%m-%dT%H:%M:%SZ' 2>/dev/null || echo '?')"
}

# A process's start time (clock ticks after boot), which tells it from a later process with its pid.
pr_start_time() {
  _stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  _stat=${_stat##*) }
  # shellcheck disable=SC2086 # the fields of /proc/<pid>/stat after the command name
  set -- $_stat
  shift 19
  echo "$1"
}

pr_lock() {
  # This very process (in a subshell $$ is the parent shell's pid): the parent of a child that it execs.
  LOCK_PID=$(exec sh -c 'echo "$PPID"')
  _dir=$(dirname "$LOCK_FILE")
  [ -d "$_dir" ] || mkdir -p "$_dir" || pr_fail "$EX_CANNOT" "host $HOST: cannot create $_dir for the lock."
  if pr_have flock; then
    # fd 9 stays open for the whole run: the lock goes with the process, however it ends.
    exec 9>>"$LOCK_FILE" || pr_fail "$EX_CANNOT" "host $HOST: cannot open the lock file $LOCK_FILE."
    if ! flock -n 9; then
      pr_say "host $HOST: waiting (up to ${LOCK_WAIT}s) for another pod-routes run: pid $(cat "$LOCK_FILE" 2>/dev/null || true)"
      if ! flock -w "$LOCK_WAIT" 9; then
        pr_fail "$EX_LOCKED" "host $HOST: another pod-routes run still holds $LOCK_FILE after ${LOCK_WAIT}s: pid $(cat "$LOCK_FILE" 2>/dev/null || echo '?'). Nothing was changed; run again once it has finished."
      fi
    fi
    printf '%s %s\n' "$LOCK_PID" "$(pr_whoami)" >"$LOCK_FILE"
    LOCK_HELD="flock"
    return 0
  fi
  _waited=0
  _told=""
  while ! mkdir "$LOCK_FILE.d" 2>/dev/null; do
    _holder=$(cat "$LOCK_FILE.d/holder" 2>/dev/null || true)
    if pr_lock_stale "$_holder"; then
      # Moved aside under a name of our own first: of two runs that both found it stale, one moves it.
      rm -rf "$LOCK_FILE.d.stale.$LOCK_PID"
      if mv "$LOCK_FILE.d" "$LOCK_FILE.d.stale.$LOCK_PID" 2>/dev/null; then
        if [ "$(cat "$LOCK_FILE.d.stale.$LOCK_PID/holder" 2>/dev/null || true)" = "$_holder" ]; then
          pr_say "host $HOST: removed a stale lock ($LOCK_FILE.d) left by pid $(pr_holder_text "$_holder")."
          rm -rf "$LOCK_FILE.d.stale.$LOCK_PID"
        else
          # It was a fresh lock, taken in the meantime: put it back.
          mv "$LOCK_FILE.d.stale.$LOCK_PID" "$LOCK_FILE.d" 2>/dev/null || rm -rf "$LOCK_FILE.d.stale.$LOCK_PID"
        fi
      fi
      continue
    fi
    if [ "$_waited" -ge "$LOCK_WAIT" ]; then
      pr_fail "$EX_LOCKED" "host $HOST: another pod-routes run still holds $LOCK_FILE.d after ${LOCK_WAIT}s: pid $(pr_holder_text "$_holder"). Nothing was changed; run again once it has finished."
    fi
    if [ -z "$_told" ]; then
      pr_say "host $HOST: waiting (up to ${LOCK_WAIT}s) for another pod-routes run: pid $(pr_holder_text "$_holder")"
      _told=1
    fi
    sleep 1
    _waited=$((_waited + 1))
  done
  LOCK_HELD="mkdir"
  # `<pid> <start time> <who>`, written whole (by rename) so that a waiter never reads half of it.
  printf '%s %s %s\n' "$LOCK_PID" "$(pr_start_time "$LOCK_PID" || echo 0)" "$(pr_whoami)" >"$LOCK_FILE.d/holder.$LOCK_PID"
  mv -f "$LOCK_FILE.d/holder.$LOCK_PID" "$LOCK_FILE.d/holder"
}

# `<pid> <start time> <who>` without the start time.
pr_holder_text() {
  if [ -z "$1" ]; then echo '?'; else printf '%s\n' "$1" | awk '{ $2 = ""; sub(/  /, " "); print }'; fi
}

# A mkdir lock whose holder (`<pid> <start time> …`) is no longer running: no process has its pid (kill -0
# needs no /proc), or the one that has is another (its start time differs). A holder that runs but whose
# start time cannot be read (no /proc) is taken for the holder: the lock is not stale. A lock without a
# holder file yet is stale only once it is a minute old (its run may be between the mkdir and the write).
pr_lock_stale() {
  if [ -z "$1" ]; then
    [ -n "$(find "$LOCK_FILE.d" -maxdepth 0 -mmin +1 2>/dev/null)" ]
    return
  fi
  # shellcheck disable=SC2086 # pid, start time, …
  set -- $1
  case "$1" in '' | 0 | *[!0-9]*) return 0 ;; esac
  kill -0 "$1" 2>/dev/null || return 0
  _started=$(pr_start_time "$1") || return 1
  [ "$_started" != "${2:-}" ]
}

# Cleanup only: the lock itself goes with the process (flock) or with the directory removed here.
pr_unlock() {
  case "$LOCK_HELD" in
    flock) : >"$LOCK_FILE" 2>/dev/null || true ;;
    mkdir)
      if [ "$(sed -n '1s/ .*//p' "$LOCK_FILE.d/holder" 2>/dev/null)" = "$LOCK_PID" ]; then
        rm -f "$LOCK_FILE.d/holder"
        rmdir "$LOCK_FILE.d" 2>/dev/null || true
      fi
      ;;
  esac
  LOCK_HELD=""
}
