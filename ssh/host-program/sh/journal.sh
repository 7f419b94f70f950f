# shellcheck shell=sh disable=SC2034 # variables set here are used by the other parts
# pod-routes host program: files change all at once or not at all, and together with the routes.
#
# A run stages every file it will write as a temporary file beside its target (same directory, so the same
# filesystem: the final rename is atomic, and staging proves the directory writable and not full), writes
# the journal ($JOURNAL_FILE, itself by rename), changes the routes in one `ip -batch`, checks that every
# desired route is its own and nothing is in its way (a failed batch or check rolls the routes back and
# drops the journal and the staged files), then commits: renames each staged file over its target,
# removes what is to go, and removes the journal. The journal lists, tab-separated, one step per line:
#   route-del <dst> <via>       a route of ours to remove (protocol 156, that next hop)
#   put <staged> <target>       rename the staged file (or symlink) over the target
#   hosts <staged> /etc/hosts   likewise, or copy it in place where /etc/hosts cannot be renamed over
#   del <target>                remove the file
#   rmdir <dir>                 remove the directory if it is empty (after the journal itself is gone)
# A run that finds a journal (one before it was killed between its route change and its commit) finishes
# it first; each step gives the same result when done twice, and a route deletion that leaves its route
# in place keeps the journal and ends the run. The routes it adds need no journal: the state file the
# commit writes lists them, and the next run adds what is missing, with every check.

STAGED_PREFIX=.pod-routes-staged.

pr_stage_init() {
  : >"$WORK/jfiles"
  : >"$WORK/created"
  : >"$WORK/stage.err"
}

# Creates the missing directories up to $1, recording each (for the created-dirs file and for undoing).
pr_mkdirs() {
  _missing=""
  _p=$1
  while [ ! -d "$_p" ]; do
    _missing="$_p $_missing"
    _p=$(dirname "$_p")
  done
  for _m in $_missing; do
    mkdir "$_m" 2>>"$WORK/stage.err" || return 1
    echo "$_m" >>"$WORK/created"
    FILES_CHANGED="$FILES_CHANGED $_m/"
  done
}

# A temporary file beside the target $1, into STAGED.
pr_staged_name() {
  pr_mkdirs "$(dirname "$1")" || return 1
  STAGED=$(mktemp "$(dirname "$1")/$STAGED_PREFIX"XXXXXX 2>>"$WORK/stage.err") || return 1
}

# pr_stage_file <target> <mode> <content file>: staged when the target differs (content or mode).
pr_stage_file() {
  if [ -f "$1" ] && [ ! -L "$1" ] && cmp -s "$3" "$1" && [ "$(stat -c %a "$1")" = "${2#0}" ]; then return 0; fi
  pr_staged_name "$1" || return 1
  printf 'put\t%s\t%s\n' "$STAGED" "$1" >>"$WORK/jfiles"
  cat "$3" >"$STAGED" 2>>"$WORK/stage.err" || return 1
  chmod "$2" "$STAGED" 2>>"$WORK/stage.err" || return 1
  FILES_CHANGED="$FILES_CHANGED $1"
}

# pr_stage_link <link> <target>: a symlink (how systemd enables a unit).
pr_stage_link() {
  if [ -L "$1" ] && [ "$(readlink "$1")" = "$2" ]; then return 0; fi
  pr_staged_name "$1" || return 1
  printf 'put\t%s\t%s\n' "$STAGED" "$1" >>"$WORK/jfiles"
  ln -sf "$2" "$STAGED" 2>>"$WORK/stage.err" || return 1
  FILES_CHANGED="$FILES_CHANGED $1"
}

# pr_stage_del <target>: removed at commit, if it is there.
pr_stage_del() {
  if [ -e "$1" ] || [ -L "$1" ]; then
    printf 'del\t%s\n' "$1" >>"$WORK/jfiles"
    FILES_CHANGED="$FILES_CHANGED $1"
  fi
}

# pr_stage_hosts <content file>: /etc/hosts with its owner and mode kept.
pr_stage_hosts() {
  if [ -f /etc/hosts ] && cmp -s "$1" /etc/hosts; then return 0; fi
  pr_staged_name /etc/hosts || return 1
  printf 'hosts\t%s\t/etc/hosts\n' "$STAGED" >>"$WORK/jfiles"
  if [ -f /etc/hosts ]; then
    cp -p /etc/hosts "$STAGED" 2>>"$WORK/stage.err" || return 1
  else
    chmod 0644 "$STAGED" 2>>"$WORK/stage.err" || return 1
  fi
  cat "$1" >"$STAGED" 2>>"$WORK/stage.err" || return 1
  FILES_CHANGED="$FILES_CHANGED /etc/hosts"
}

# Undoes the staging: the staged files go, and the directories made for them (deepest first).
pr_unstage() {
  PHASE=look
  while IFS="$TAB" read -r _op _a _b; do
    case "$_op" in put | hosts) rm -f "$_a" ;; esac
  done <"$WORK/jfiles"
  # Cleanup only: a directory something else has put a file in since stays.
  sort -r "$WORK/created" | while read -r _d; do rmdir "$_d" 2>/dev/null || true; done
  : >"$WORK/jfiles"
  : >"$WORK/created"
}

# Why staging failed, in words: a read-only /etc says so.
pr_stage_failed() {
  pr_unstage
  _why=$(tr '\n' ' ' <"$WORK/stage.err")
  case "$_why" in
    *"Read-only file system"*) _why="/etc is read-only ($_why)" ;;
    *"No space left"*) _why="the filesystem of /etc is full ($_why)" ;;
  esac
  pr_fail "$EX_REFUSED" "host $HOST: cannot write its files: ${_why:-unknown error}; nothing was changed on this host."
}

# Writes the journal (route deletions, then the file steps) by rename; $1 is an extra file of steps to
# append (the delete's rmdir steps).
pr_write_journal() {
  _j=$(mktemp "$STATE_DIR/$STAGED_PREFIX"XXXXXX 2>>"$WORK/stage.err") || return 1
  cat "$WORK/route-dels" "$WORK/jfiles" ${1:+"$1"} >"$_j" 2>>"$WORK/stage.err" &&
    mv -f "$_j" "$JOURNAL_FILE" 2>>"$WORK/stage.err" && return 0
  rm -f "$_j"
  return 1
}

# Does the file steps of a journal ($1); each can be done again.
pr_journal_files() {
  _ok=0
  while IFS="$TAB" read -r _op _a _b; do
    case "$_op" in
      put)
        if [ -e "$_a" ] || [ -L "$_a" ]; then mv -f "$_a" "$_b" || _ok=1; fi
        ;;
      hosts)
        if [ -e "$_a" ]; then
          # In place where it cannot be renamed over: a symlink, or a bind mount (containers).
          if [ -L "$_b" ] || ! mv -f "$_a" "$_b" 2>/dev/null; then
            { cat "$_a" >"$_b" && rm -f "$_a"; } || _ok=1
          fi
        fi
        ;;
      del) rm -f "$_a" || _ok=1 ;;
    esac
  done <"$1"
  return "$_ok"
}

# The rmdir steps of a journal, after the journal itself is gone (a directory that is not empty stays).
pr_journal_rmdirs() {
  awk -F "$TAB" '$1 == "rmdir" { print $2 }' "$1" | while read -r _d; do rmdir "$_d" 2>/dev/null || true; done
}

# Finishes the journal of an interrupted run, if there is one: its route deletions, its files. A route it
# cannot remove keeps the journal (the next run, or the boot program, tries again) and ends the run before
# anything else changes: its files would otherwise forget a route that is still there.
pr_finish_journal() {
  [ -f "$JOURNAL_FILE" ] || return 0
  cp "$JOURNAL_FILE" "$WORK/found-journal" || pr_fail "$EX_CANNOT" "host $HOST: cannot read $JOURNAL_FILE."
  pr_say "host $HOST: finishing a run that was interrupted before it committed its files ($JOURNAL_FILE)."
  awk -F "$TAB" -v proto="$PROTO" '$1 == "route-del" { print "route del " $2 " via " $3 " proto " proto }' \
    "$WORK/found-journal" >"$WORK/journal-dels"
  if [ -s "$WORK/journal-dels" ]; then
    # The interrupted run may have removed some already (their lines fail then): what counts is whether
    # any is still there.
    ip -force -batch "$WORK/journal-dels" >/dev/null 2>"$WORK/journal-dels.err" || :
    pr_expect "$WORK/journal-dels" >"$WORK/journal-left" ||
      pr_fail "$EX_CANNOT" "host $HOST: cannot finish $JOURNAL_FILE: $DUMP_ERR; the journal is kept (the next run, or the boot program, tries again) and nothing else was changed on this host."
    if [ -s "$WORK/journal-left" ]; then
      _err=$(sed '/^Command failed /d' "$WORK/journal-dels.err" | tr '\n' ' ')
      _err=${_err% }
      pr_fail "$EX_CANNOT" "host $HOST: cannot finish $JOURNAL_FILE: $(pr_joined "$WORK/journal-left")${_err:+; ip said: $_err}; the journal is kept (the next run, or the boot program, tries again) and nothing else was changed on this host."
    fi
  fi
  pr_journal_files "$WORK/found-journal" ||
    pr_fail "$EX_CANNOT" "host $HOST: cannot finish $JOURNAL_FILE (is /etc writable?); nothing else was changed."
  rm -f "$JOURNAL_FILE"
  pr_journal_rmdirs "$WORK/found-journal"
  pr_reload_systemd
}

# Staged files of a run that was killed before it wrote its journal: nobody else's (we hold the lock).
pr_remove_strays() {
  for _d in /etc "$STATE_DIR" "$(dirname "$UNIT_FILE")" "$(dirname "$UNIT_LINK")" \
    "$(dirname "$RESYNC_TIMER_LINK")" "$(dirname "$PROTO_FILE")"; do
    [ -d "$_d" ] || continue
    for _f in "$_d/$STAGED_PREFIX"*; do
      if [ -e "$_f" ] || [ -L "$_f" ]; then rm -f "$_f"; fi
    done
  done
}

# The commit: signals are ignored from the journal on (an interruption now would leave routes and files
# apart; SIGKILL still can, and the journal covers it). $1: extra journal steps (optional).
pr_commit() {
  trap '' HUP INT TERM PIPE
  if [ -s "$WORK/jfiles" ] || [ -s "$WORK/route-dels" ] || [ -n "${1:-}" ]; then
    pr_write_journal "${1:-}" || pr_stage_failed
    JOURNAL_WRITTEN=1
  else
    JOURNAL_WRITTEN=""
  fi
  PHASE=commit
  if ! pr_run_batch; then pr_rollback "$BATCH_WHY"; fi
  if ! pr_verify_routes; then
    BATCH_DONE=$(awk 'END { print NR }' "$WORK/batch")
    pr_rollback "$VERIFY_WHY"
  fi
  if [ -n "$JOURNAL_WRITTEN" ]; then
    pr_journal_files "$WORK/jfiles" ||
      pr_fail "$EX_CANNOT" "host $HOST: the routes changed, but some files could not be committed; the next run (or the boot program) finishes it from $JOURNAL_FILE."
    # Only for its rmdir steps: without them, directories that could have gone stay.
    cp "$JOURNAL_FILE" "$WORK/done-journal" 2>/dev/null || : >"$WORK/done-journal"
    rm -f "$JOURNAL_FILE"
    pr_journal_rmdirs "$WORK/done-journal"
  fi
  PHASE=committed
  trap 'pr_on_signal HUP 129' HUP
  trap 'pr_on_signal INT 130' INT
  trap 'pr_on_signal TERM 143' TERM
  trap 'pr_on_signal PIPE 141' PIPE
  if [ -n "$FILES_CHANGED" ]; then pr_reload_systemd; fi
}

# A route change failed ($1 says how) after the batch's first BATCH_DONE lines ran: puts back what they
# changed, drops the journal and the staged files (the files stay as they were), names what is in the way
# now, and ends the run: EX_ROLLEDBACK when every route is as it was, else EX_NOT_RESTORED naming each
# route that is not.
pr_rollback() {
  _restored=1
  pr_undo_routes "$BATCH_DONE" || _restored=""
  rm -f "$JOURNAL_FILE"
  PHASE=staged
  pr_unstage
  pr_relook
  if [ -z "$_restored" ]; then
    pr_fail "$EX_NOT_RESTORED" "host $HOST: a route change failed ($1), and it could not put back: $(pr_joined "$WORK/unrestored"). No file was changed on this host; put those routes right by hand, then run again."
  fi
  pr_fail "$EX_ROLLEDBACK" "host $HOST: a route change failed ($1); the routes pod-routes had before were restored and nothing else was changed on this host."
}

# The lines of $1 as one, joined by "; ".
pr_joined() {
  awk '{ printf "%s%s", (NR > 1 ? "; " : ""), $0 }' "$1"
}

# systemd is only asked to reload where it runs (never inside a container or the test lab).
pr_reload_systemd() {
  # Not a check: a failed reload is systemd's to report; the files are in place either way.
  if [ -d /run/systemd/system ] && pr_have systemctl; then systemctl daemon-reload || true; fi
}
