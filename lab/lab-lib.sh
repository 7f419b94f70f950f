# shellcheck shell=bash
# What the two labs (lab/lab.sh, lab/lab-boot.sh) share: time, their machine-wide lock, and
# telling processes apart. Sourced by both; each defines its own die/say (their messages' prefix).

now_ms() { local t=${EPOCHREALTIME//[.,]/}; echo $((10#$t / 1000)); }
secs_since() { local d=$(($(now_ms) - $1)); printf '%d.%02ds' $((d / 1000)) $((d % 1000 / 10)); }

# One lab command at a time on this machine: flock on the file $1, on fd 8, held until release_lock.
LOCKED=
take_lock() { # lock file
  [ -n "$LOCKED" ] && return 0
  mkdir -p "$(dirname "$1")"
  exec 8>>"$1"
  flock -w 600 8 || die "another ${0##*/} run holds $1"
  LOCKED=1
}
release_lock() {
  [ -n "$LOCKED" ] || return 0
  flock -u 8
  exec 8>&-
  LOCKED=
}

# A process counts as gone once it has exited: the lab's daemons are orphans, and PID 1 here may take a
# while to reap them, so a zombie is gone too.
alive() {
  local pid=$1 stat
  [ -n "$pid" ] && read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ] && [ "${stat%% *}" != X ]
}
wait_gone() { # timeout_ms pid…
  local deadline=$(($(now_ms) + $1)) pid left
  shift
  while :; do
    left=0
    for pid in "$@"; do alive "$pid" && left=1 && break; done
    [ "$left" -eq 0 ] && return 0
    [ "$(now_ms)" -ge "$deadline" ] && return 1
    sleep 0.02
  done
}
cmdline_of() { # pid → its arguments joined by spaces (builtins only: down scans every process)
  local args=()
  mapfile -d '' args 2>/dev/null <"/proc/$1/cmdline" || return 1
  echo "${args[*]}"
}
proc_start() { # pid → its start time (clock ticks since boot), the pair (pid, start) names one process
  local stat fields
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  read -ra fields <<<"${stat##*) }"
  echo "${fields[19]}"
}
