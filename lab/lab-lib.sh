# shellcheck shell=bash
# What the two labs (lab/lab.sh, lab/lab-boot.sh) share: time, their machine-wide lock, telling
# processes apart, and the start of their `up`. Sourced by both; each defines its own die/say (their messages' prefix).

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

# The start of both labs' `up`, in order. Each lab defines other_owner (the live run whose lab is up, as
# "labdir pid …", or nothing), on_up_exit (which tears down UP_DIR should the up fail) and MARKER.

# Takes the lock ($1) and waits, releasing it while it sleeps, until no other live run's lab is up
# (LAB_TAKEOVER=1: no wait); after LAB_WAIT_SECONDS (default 300) dies naming that lab and its down command.
wait_for_other_lab() { # lock_file dir what down_command
  local lock=$1 dir=$2 what=$3 down=$4 other waited=0 limit=${LAB_WAIT_SECONDS:-300}
  take_lock "$lock"
  while [ -z "${LAB_TAKEOVER:-}" ] && other=$(other_owner "$dir") && [ -n "$other" ]; do
    [ "$waited" -gt 0 ] || say "waiting for $what of another run to go down: $other (labdir pid command; LAB_TAKEOVER=1 takes it over)"
    [ "$waited" -lt $((limit * 2)) ] ||
      die "$what at ${other%% *} is still in use after ${limit}s; end that run or: $down ${other%% *}"
    release_lock
    sleep 0.5
    take_lock "$lock"
    waited=$((waited + 1))
  done
}

# Never shadow a real network of this machine: dies when the root namespace already routes into the /24.
refuse_shadowing() { # net (its first three octets) what
  local existing
  existing=$(ip -4 route show root "$1.0/24")
  [ -z "$existing" ] || die "the root namespace already routes into $1.0/24 ($existing); $2 will not shadow it"
}

# Makes the lab directory, marked as the lab's, with the traps that tear it down again should the up fail.
begin_up() { # dir
  # shellcheck disable=SC2034 # each lab's on_up_exit reads it
  UP_DIR=$1
  trap on_up_exit EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$1/hosts" "$1/client"
  : >"$1/$MARKER"
}
