#!/usr/bin/env bash
# The booting lab: hosts that run systemd as PID 1, for what lab/lab.sh (no init) can only simulate:
# pod-routes.service enabled for real, `systemctl daemon-reload`, the resync timer, and routes that come
# back after a real reboot. Each host is a systemd-nspawn container booted from a cached Debian root
# (mmdebstrap), joined to a network namespace of its own on a bridge; its root is an overlay of the
# cached root (which stays pristine) and a per-host upper layer, so what the host writes to /etc survives
# its reboots. Its only network is that namespace; the workstation (198.19.250.1 on the veth prb-ws in the
# root namespace) reaches it over real ssh. Names, subnet and lock are this lab's own (prb-*,
# 198.19.250.0/24, /run/lock/pod-routes-lab-boot.lock): it runs beside lab/lab.sh (prl-*, .249).
#
#   lab-boot.sh image                         build the cached root if missing; print its path
#   lab-boot.sh up <labdir> <host>…           build the lab (hosts at 198.19.250.10, .11, …) and boot every
#                                             host; writes labdir/lab.json
#   lab-boot.sh down <labdir>                 power everything off and remove it all (namespaces, veths,
#                                             processes, cgroups, files); safe after a failed up, and twice
#   lab-boot.sh stop <labdir> <host> [hard]   power the host off (`systemctl poweroff`; a power cut with
#                                             `hard`, or after LAB_BOOT_WAIT_SECONDS, default 60); its
#                                             network is then what a machine finds at power-on: eth0
#                                             anew, no route of the last boot
#   lab-boot.sh start <labdir> <host>         boot it; waits until systemd has finished starting up, then
#                                             prints the system state (running, or degraded: a unit failed)
#   lab-boot.sh reboot <labdir> <host>        stop, then start
#   lab-boot.sh exec <labdir> <host> -- cmd…  run a command inside the booted host (all its namespaces)
#   lab-boot.sh ssh <labdir> <host> -- cmd…   run a command on the host over real ssh, host key pinned
#
# The cached root: $LAB_BOOT_CACHE (default /var/cache/pod-routes-lab)/boot-root-<key>, the key a hash of
# the suite, the package list and the customization below; built once (30 to 60 s, from Debian's mirror,
# $LAB_BOOT_MIRROR to choose another), then reused. It holds no keys: every lab makes a client key and
# per host an ed25519 host key, pinned in labdir/known_hosts. Needs root, mmdebstrap and systemd-nspawn
# (sudo bash scripts/lab-deps.sh). One boot lab per machine: `up` waits (LAB_WAIT_SECONDS, default 300)
# while another live run's boot lab is up (its owner: lab-boot.sh's parent process, or LAB_OWNER_PID), and
# replaces one whose owner has ended. The machine itself needs no systemd: nspawn runs --register=no
# --keep-unit, each container in a cgroup of its own (prb-<host>) that `down` removes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lab/lab-lib.sh
. "$ROOT/lab/lab-lib.sh"
PREFIX=prb
LAB_NS=$PREFIX-lab
WS_IF=$PREFIX-ws
NET=198.19.250
WS_IP=$NET.1
FIRST_HOST=10
MARKER=.pod-routes-lab-boot
LOCK_FILE=/run/lock/pod-routes-lab-boot.lock
REGISTRY=/run/lock/pod-routes-lab-boot.current
CACHE=${LAB_BOOT_CACHE:-/var/cache/pod-routes-lab}
BOOT_WAIT=${LAB_BOOT_WAIT_SECONDS:-60}
SUITE=bookworm
PACKAGES=systemd,systemd-sysv,iproute2,openssh-server,dbus
# Units of the Debian root that only make noise or take time in a lab host.
MASKED_UNITS="apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer"
NSPAWN_OPTIONS=(--quiet --register=no --keep-unit --capability=CAP_NET_ADMIN --console=read-only
  --resolv-conf=off --timezone=off --link-journal=no --boot)

die() {
  echo "lab-boot: $*" >&2
  exit 1
}
say() { echo "lab-boot: $*" >&2; }
need_root() { [ "$(id -u)" -eq 0 ] || die "'$1' needs root (network namespaces, mounts, systemd-nspawn); run: sudo bash lab/lab-boot.sh $1 …"; }
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is missing; run: sudo bash scripts/lab-deps.sh"
  done
}

# The labdir argument as an absolute path; never a system directory or the repository.
lab_dir() {
  [ -n "${1:-}" ] || die "no lab directory given"
  local dir
  dir=$(realpath -m -- "$1")
  case "$dir" in
    / | /etc | /etc/* | /proc | /proc/* | /sys | /sys/* | /dev | /dev/* | /usr | /usr/* | /run | /var | "$ROOT")
      die "$dir cannot be a lab directory" ;;
  esac
  [[ $dir != *[,:\"\\[:space:]]* ]] || die "the lab directory path must not contain , : \" \\ or spaces (it goes into mount options): $dir"
  echo "$dir"
}
valid_name() { [[ $1 =~ ^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$ ]]; }
host_dir() { # dir name → the host's directory, which must exist
  valid_name "$2" || die "'$2' is not a lab host name"
  [ -s "$1/hosts/$2/ip" ] || die "no host $2 in the boot lab at $1 (is it up? bash lab/lab-boot.sh up $1 $2)"
  echo "$1/hosts/$2"
}

# ------------------------------------------------------------------------------------ the cached root

# Runs on the freshly built root ($1): no keys (each lab makes its own), sshd on the host key the lab
# puts there, neutral host name and machine id (each boot makes one), the noisy timers masked.
customize_root() {
  local root=$1 unit
  rm -f "$root"/etc/ssh/ssh_host_*
  mkdir -p "$root/etc/ssh/sshd_config.d"
  cat >"$root/etc/ssh/sshd_config.d/pod-routes-lab.conf" <<'CONF'
# pod-routes boot lab: the ed25519 host key each lab host gets, keys only.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
CONF
  echo localhost >"$root/etc/hostname"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  : >"$root/etc/machine-id"
  for unit in $MASKED_UNITS; do ln -sfn /dev/null "$root/etc/systemd/system/$unit"; done
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
}

image_key() {
  { echo "recipe 1 $SUITE minbase $PACKAGES ${LAB_BOOT_MIRROR:-}"; declare -f customize_root; echo "$MASKED_UNITS"; } |
    sha256sum | cut -c1-16
}
image_dir() { echo "$CACHE/boot-root-$(image_key)"; }

# Prints the cached root's path; builds it first when it is missing (one builder at a time).
ensure_image() {
  local image tmp started
  image=$(image_dir)
  if [ -e "$image/.pod-routes-lab-boot-root" ]; then
    echo "$image"
    return 0
  fi
  need_tools mmdebstrap
  mkdir -p "$CACHE"
  exec 7>>"$CACHE/boot-root.lock"
  flock -w 900 7 || die "another run has been building the cached root for 15 minutes ($CACHE/boot-root.lock)"
  if [ ! -e "$image/.pod-routes-lab-boot-root" ]; then
    started=$(now_ms)
    rm -rf "$image" "$CACHE"/boot-root-*.tmp
    tmp=$image.tmp
    say "building the cached root $image (mmdebstrap $SUITE: $PACKAGES)"
    local args=(--variant=minbase "--include=$PACKAGES" "$SUITE" "$tmp")
    if [ -n "${LAB_BOOT_MIRROR:-}" ]; then args+=("$LAB_BOOT_MIRROR"); fi
    if ! mmdebstrap --quiet "${args[@]}" >"$CACHE/boot-root.log" 2>&1; then
      tail -n 30 "$CACHE/boot-root.log" >&2
      rm -rf "$tmp"
      die "building the cached root failed (log: $CACHE/boot-root.log); is Debian's mirror reachable (LAB_BOOT_MIRROR)?"
    fi
    customize_root "$tmp"
    image_key >"$tmp/.pod-routes-lab-boot-root"
    mv "$tmp" "$image"
    say "cached root built in $(secs_since "$started")"
  fi
  flock -u 7
  exec 7>&-
  echo "$image"
}

# --------------------------------------------------------------------------------------- processes

# The host's systemd-nspawn: the pid in nspawn.pid, only if it still runs that host's container.
nspawn_of() { # hdir
  local pid
  pid=$(cat "$1/nspawn.pid" 2>/dev/null) || return 1
  alive "$pid" || return 1
  # systemd-nspawn, or its launcher before it has exec'd it.
  case "$(cmdline_of "$pid") " in
    *" --machine=$(cat "$1/machine") "* | *" pod-routes-lab-boot:$(basename "$1") "*) echo "$pid" ;;
    *) return 1 ;;
  esac
}
# The container's init (PID 1 in its own pid namespace), a child of nspawn.
init_of() { # nspawn pid
  local child nspid children
  children=$(cat "/proc/$1/task/"*/children 2>/dev/null) || return 1
  for child in $children; do
    nspid=$(awk '$1 == "NSpid:" { print $NF }' "/proc/$child/status" 2>/dev/null) || continue
    if [ "$nspid" = 1 ] && [ "$(awk '$1 == "NSpid:" { print NF }' "/proc/$child/status")" -gt 2 ]; then
      echo "$child"
      return 0
    fi
  done
  return 1
}
# Every process in one of the lab's network namespaces (the containers' processes all are), and every
# systemd-nspawn or launcher of this lab (by its --machine=prb-…), except this shell.
lab_pids() {
  local ns ino f pid target
  declare -A nets=()
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
    if ino=$(stat -L -c %i "/run/netns/$ns" 2>/dev/null); then nets["net:[$ino]"]=1; fi
  done
  LAB_PIDS=()
  for f in /proc/[0-9]*; do
    pid=${f#/proc/}
    [ "$pid" != $$ ] || continue
    case $(cmdline_of "$pid") in *" --machine=$PREFIX-"* | *" pod-routes-lab-boot:"*) LAB_PIDS+=("$pid") ;; esac
  done
  if [ ${#nets[@]} -gt 0 ]; then
    while read -r f _ target; do
      pid=${f#/proc/}
      pid=${pid%%/*}
      if [ "$pid" != $$ ] && [ -n "$target" ] && [ -n "${nets[$target]:-}" ]; then LAB_PIDS+=("$pid"); fi
    done < <(find /proc/[0-9]*/ns/ -maxdepth 1 -name net -printf '%h %f %l\n' 2>/dev/null || true)
  fi
  local live=()
  for pid in "${LAB_PIDS[@]}"; do if alive "$pid"; then live+=("$pid"); fi; done
  LAB_PIDS=("${live[@]}")
}
# Every process in one host's network namespace.
netns_pids() { # ns
  local ino f pid
  ino=$(stat -L -c %i "/run/netns/$1" 2>/dev/null) || return 0
  while read -r f; do
    pid=${f#/proc/}
    echo "${pid%%/*}"
  done < <(find /proc/[0-9]*/ns/net -maxdepth 0 -lname "net:\[$ino\]" 2>/dev/null || true)
}

# The cgroup directories a container runs in: in every hierarchy that systemd-nspawn uses (the unified
# one, and the named systemd one on a hybrid or legacy machine), prb-<host> under this process's own.
cgroup_bases() {
  local line id ctrls path mnt
  while IFS= read -r line; do
    id=${line%%:*}
    ctrls=${line#*:}
    path=${ctrls#*:}
    ctrls=${ctrls%%:*}
    mnt=""
    if [ "$id" = 0 ] && [ -z "$ctrls" ]; then
      if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then mnt=/sys/fs/cgroup; elif [ -d /sys/fs/cgroup/unified ]; then mnt=/sys/fs/cgroup/unified; fi
    elif [ "$ctrls" = name=systemd ] && [ -d /sys/fs/cgroup/systemd ]; then
      mnt=/sys/fs/cgroup/systemd
    fi
    [ -n "$mnt" ] || continue
    echo "$mnt${path%/}"
  done </proc/self/cgroup
}
cgroup_dirs() { # machine
  local base
  for base in $(cgroup_bases); do echo "$base/$1"; done
}
# Removes cgroups, deepest first; only empty ones can go (rmdir), so nothing alive is lost.
remove_cgroup() { # dir
  case $1 in /sys/fs/cgroup/*/"$PREFIX"-* | /sys/fs/cgroup/"$PREFIX"-*) ;; *) return 0 ;; esac
  [ -d "$1" ] || return 0
  find "$1" -depth -type d -exec rmdir {} + 2>/dev/null || true
  [ ! -d "$1" ] || say "cgroup $1 is still in use; left in place"
}
remove_cgroups() { # hdir: the cgroups its container ran in
  local cg
  [ -s "$1/cgroups" ] || return 0
  while read -r cg; do remove_cgroup "$cg"; done <"$1/cgroups"
}

# ------------------------------------------------------------------------------------------ network

# eth0 of a host, made anew: a veth to the bridge, the host's address and MAC address, up. Every route of
# the host's last boot goes with the old one.
wire_host() { # hdir
  local hdir=$1 name ip idx ns
  name=$(basename "$hdir")
  ip=$(cat "$hdir/ip")
  idx=$(cat "$hdir/index")
  ns=$PREFIX-$name
  ip -n "$LAB_NS" link del "h$idx" 2>/dev/null || true
  ip -n "$ns" link del eth0 2>/dev/null || true
  # The same MAC address at every power-on, as a machine's NIC keeps its own (neighbours' caches hold it).
  ip -n "$LAB_NS" link add "h$idx" type veth peer name eth0 address "$(printf '02:70:72:62:%02x:%02x' $((idx / 256)) $((idx % 256)))" netns "$ns"
  ip -n "$LAB_NS" link set "h$idx" master br0 up
  printf 'link set lo up\naddr add %s/24 dev eth0\nlink set eth0 up\n' "$ip" | ip -n "$ns" -batch -
}

# The host's routes as a power cut leaves them: none of pod-routes' (protocol 156), in any table.
routes_lost() { # hdir
  local ns left
  ns=$PREFIX-$(basename "$1")
  wire_host "$1"
  ip -n "$ns" -4 route flush table all proto 156 2>/dev/null || true
  ip -n "$ns" -6 route flush table all proto 156 2>/dev/null || true
  left=$( (ip -n "$ns" -4 route show table all proto 156; ip -n "$ns" -6 route show table all proto 156) 2>&1)
  [ -z "$left" ] || die "$(basename "$1") still has routes of protocol 156 after power-off: $left"
}

# ------------------------------------------------------------------------------------------ a host

# The launcher of a container, run by `unshare --mount` (its own mount namespace: the overlay and
# everything nspawn mounts vanish with it): joins the container's cgroups, mounts the root, execs nspawn.
# $1 hdir, $2 cached root, $3 host name, $4 machine name, $5 network namespace.
# shellcheck disable=SC2016 # expanded by the launcher's own bash
LAUNCHER='
set -eu
hdir=$1 image=$2 name=$3 machine=$4 ns=$5
while read -r cg; do
  mkdir -p "$cg"
  echo $$ >"$cg/cgroup.procs"
done <"$hdir/cgroups"
mkdir -p "$hdir/upper" "$hdir/work" "$hdir/root"
if ! mount -t overlay overlay -o "lowerdir=$image,upperdir=$hdir/upper,workdir=$hdir/work" "$hdir/root" 2>/dev/null; then
  # The lab directory cannot hold an overlay upper layer (it is on overlayfs itself): a full copy
  # instead, made at the first boot and kept across reboots.
  if [ ! -e "$hdir/copied" ]; then
    echo "lab-boot: $name: no overlay here; copying the root" >&2
    cp -a "$image/." "$hdir/root/"
    cp -a "$hdir/upper/." "$hdir/root/"
    : >"$hdir/copied"
  fi
fi
exec systemd-nspawn "--machine=$machine" "--hostname=$name" -D "$hdir/root" \
  "--network-namespace-path=/run/netns/$ns" "${@:6}"
'

start_host() { # dir name
  local dir=$1 name=$2 hdir image pid
  hdir=$(host_dir "$dir" "$name")
  if nspawn_of "$hdir" >/dev/null; then die "$name is already running"; fi
  image=$(cat "$dir/image")
  [ -e "$image/.pod-routes-lab-boot-root" ] || die "the cached root $image is gone; bring the lab up again"
  cgroup_dirs "$(cat "$hdir/machine")" >"$hdir/cgroups"
  rm -f "$hdir/nspawn.pid"
  echo "---- boot $(date -u +%FT%TZ)" >>"$hdir/console.log"
  setsid unshare --mount --propagation private bash -c "$LAUNCHER" "pod-routes-lab-boot:$name" \
    "$hdir" "$image" "$name" "$(cat "$hdir/machine")" "$PREFIX-$name" "${NSPAWN_OPTIONS[@]}" \
    </dev/null >>"$hdir/console.log" 2>&1 7>&- 8>&- &
  pid=$!
  echo "$pid" >"$hdir/nspawn.pid"
}

# Waits until the host's systemd has finished starting up (every job done) and sshd runs; prints the
# system state: running, or degraded when a unit failed.
wait_booted() { # dir name
  local dir=$1 name=$2 hdir pid init="" state="" deadline left
  hdir=$(host_dir "$dir" "$name")
  deadline=$(($(now_ms) + BOOT_WAIT * 1000))
  pid=$(cat "$hdir/nspawn.pid")
  while :; do
    alive "$pid" || { tail -n 30 "$hdir/console.log" >&2; die "$name stopped while it booted; see $hdir/console.log"; }
    if [ -z "$init" ]; then init=$(init_of "$pid") || init=""; fi
    if [ -n "$init" ]; then
      left=$(((deadline - $(now_ms)) / 1000 + 1))
      state=$(timeout "$left" nsenter -t "$init" -a -r -w -- systemctl is-system-running --wait 2>/dev/null) || true
      case $state in running | degraded) break ;; esac
    fi
    if [ "$(now_ms)" -ge "$deadline" ]; then
      tail -n 30 "$hdir/console.log" >&2
      die "$name did not finish booting within ${BOOT_WAIT}s (system state: ${state:-none}); see $hdir/console.log"
    fi
    sleep 0.1
  done
  until [ "$(nsenter -t "$init" -a -r -w -- systemctl is-active ssh.service 2>/dev/null)" = active ]; do
    [ "$(now_ms)" -lt "$deadline" ] || die "sshd on $name did not start within ${BOOT_WAIT}s"
    sleep 0.1
  done
  echo "$state"
}

# Powers the host off: `systemctl poweroff` in it, a power cut (SIGKILL to everything of it) when it has
# not gone after LAB_BOOT_WAIT_SECONDS. Then its network is what the next power-on finds.
stop_host() { # dir name [hard]
  local dir=$1 name=$2 hdir pid init pids
  hdir=$(host_dir "$dir" "$name")
  if pid=$(nspawn_of "$hdir"); then
    if [ "${3:-}" != hard ] && init=$(init_of "$pid"); then
      nsenter -t "$init" -a -r -w -- systemctl poweroff --no-block 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    else
      kill -TERM "$pid" 2>/dev/null || true
    fi
    if ! wait_gone $((BOOT_WAIT * 1000)) "$pid"; then
      say "$name did not power off within ${BOOT_WAIT}s; cutting its power"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  mapfile -t pids < <(netns_pids "$PREFIX-$name")
  if [ ${#pids[@]} -gt 0 ]; then
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait_gone 5000 "${pids[@]}" || die "processes of $name did not exit: ${pids[*]}"
  fi
  rm -f "$hdir/nspawn.pid"
  remove_cgroups "$hdir"
  rm -rf "/run/systemd/nspawn/propagate/$(cat "$hdir/machine")"
  routes_lost "$hdir"
}

# --------------------------------------------------------------------------------------------- down

cmd_down() { # dir
  local dir=$1 started ns hdir pid found=""
  started=$(now_ms)
  take_lock "$LOCK_FILE"
  # Ask every container to halt (nspawn passes SIGTERM on as a clean shutdown), then kill what is left.
  for hdir in "$dir"/hosts/*/; do
    hdir=${hdir%/}
    if [ -s "$hdir/machine" ] && pid=$(nspawn_of "$hdir"); then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  lab_pids
  if [ ${#LAB_PIDS[@]} -gt 0 ]; then
    found=1
    kill -TERM "${LAB_PIDS[@]}" 2>/dev/null || true
    if ! wait_gone 10000 "${LAB_PIDS[@]}"; then
      kill -KILL "${LAB_PIDS[@]}" 2>/dev/null || true
      wait_gone 5000 "${LAB_PIDS[@]}" || say "processes that did not exit: ${LAB_PIDS[*]}"
    fi
  fi
  lab_pids
  if [ ${#LAB_PIDS[@]} -gt 0 ]; then
    kill -KILL "${LAB_PIDS[@]}" 2>/dev/null || true
    wait_gone 5000 "${LAB_PIDS[@]}" || say "processes that did not exit: ${LAB_PIDS[*]}"
  fi
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
    found=1
    ip netns del "$ns" 2>/dev/null || { sleep 0.2; ip netns del "$ns" 2>/dev/null; } || say "could not delete namespace $ns"
  done
  ip link del "$WS_IF" 2>/dev/null || true
  # Every container cgroup of this lab, also those of a lab whose directory is gone.
  local base cg
  for base in $(cgroup_bases); do
    for cg in "$base/$PREFIX"-*; do remove_cgroup "$cg"; done
  done
  rm -rf "/run/systemd/nspawn/propagate/$PREFIX"-*
  # What systemd-nspawn made in the machine's /run for itself (empty directories only).
  rmdir /run/systemd/nspawn/propagate /run/systemd/nspawn/locks /run/systemd/nspawn 2>/dev/null || true
  # The overlays live in the launchers' private mount namespaces; a stray mount under the lab directory
  # would still make rm -rf fail or worse: detach it.
  findmnt -rn -o TARGET 2>/dev/null | awk -v d="$dir/" 'index($0 "/", d) == 1' | sort -r |
    while read -r target; do umount -l "$target" 2>/dev/null || true; done
  if [ -d "$dir" ]; then
    if [ -e "$dir/$MARKER" ] || [ -z "$(ls -A "$dir")" ]; then
      rm -rf -- "$dir"
    else
      say "$dir is not a boot lab directory (no $MARKER); left in place"
    fi
  fi
  if [ -r "$REGISTRY" ] && [ "$(cut -f1 "$REGISTRY")" = "$dir" ]; then rm -f "$REGISTRY"; fi
  local remaining
  remaining=$( (ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-"; ip -o link show "$WS_IF" 2>/dev/null) || true)
  [ -z "$remaining" ] || die "left after down: $remaining"
  if [ -n "$found" ]; then say "down in $(secs_since "$started")"; fi
}

# The boot lab that is up belongs to another live run: prints "<labdir> <pid> <command>".
other_owner() { # dir
  local odir pid start
  [ -r "$REGISTRY" ] || return 0
  IFS=$'\t' read -r odir pid start <"$REGISTRY" || return 0
  [ "$odir" != "$1" ] || return 0
  [ "$pid" != "${LAB_OWNER_PID:-$PPID}" ] || return 0
  alive "$pid" && [ "$(proc_start "$pid")" = "$start" ] || return 0
  [ -e "$odir/$MARKER" ] || return 0
  case $(cat "/proc/$pid/comm" 2>/dev/null) in bash | sh | dash | zsh | fish | ksh | tmux* | screen | sudo | su) return 0 ;; esac
  echo "$odir $pid $(cat "/proc/$pid/comm" 2>/dev/null || echo '?')"
}

# ----------------------------------------------------------------------------------------------- up

UP_DIR=""
UP_DONE=""
on_up_exit() {
  local rc=$?
  trap - EXIT INT TERM
  [ -z "$UP_DONE" ] || return 0
  say "up failed; tearing down"
  cmd_down "$UP_DIR" || true
  [ "$rc" -ne 0 ] || rc=1
  exit "$rc"
}

cmd_up() { # dir name…
  local dir=$1 name image started i=0 owner
  shift
  [ $# -gt 0 ] || die "usage: lab-boot.sh up <labdir> <host>…"
  [ $# -le 20 ] || die "at most 20 hosts"
  declare -A seen=()
  for name in "$@"; do
    valid_name "$name" || die "'$name' is not a host name for this lab (a-z, 0-9, '-', at most 20)"
    [ -z "${seen[$name]:-}" ] || die "$name is named twice"
    seen[$name]=1
  done
  need_tools ip ssh ssh-keygen nsenter unshare setsid flock findmnt systemd-nspawn timeout
  started=$(now_ms)
  image=$(ensure_image)
  wait_for_other_lab "$LOCK_FILE" "$dir" "the boot lab" "sudo bash lab/lab-boot.sh down"
  if [ -r "$REGISTRY" ]; then cmd_down "$(cut -f1 "$REGISTRY")"; fi
  cmd_down "$dir"
  refuse_shadowing "$NET" "the boot lab"
  begin_up "$dir"
  owner=${LAB_OWNER_PID:-$PPID}
  printf '%s\t%s\t%s\n' "$dir" "$owner" "$(proc_start "$owner" || echo 0)" >"$REGISTRY.tmp"
  mv "$REGISTRY.tmp" "$REGISTRY"
  echo "$image" >"$dir/image"

  ip netns add "$LAB_NS"
  printf 'link set lo up\nlink add br0 type bridge\nlink set br0 up\n' | ip -n "$LAB_NS" -batch -
  ip link add "$WS_IF" type veth peer name ws netns "$LAB_NS"
  ip -n "$LAB_NS" link set ws master br0 up
  ip addr add "$WS_IP/24" dev "$WS_IF"
  ip link set "$WS_IF" up
  ssh-keygen -q -t ed25519 -N "" -C pod-routes-lab-boot-client -f "$dir/client/id_ed25519"

  local hdir ip key
  : >"$dir/known_hosts"
  for name in "$@"; do
    hdir=$dir/hosts/$name
    ip=$NET.$((FIRST_HOST + i))
    mkdir -p "$hdir"
    echo "$ip" >"$hdir/ip"
    echo "$i" >"$hdir/index"
    echo "$PREFIX-$name" >"$hdir/machine"
    ip netns add "$PREFIX-$name"
    wire_host "$hdir"
    # Never a real network: the host's address is reached through this lab's veth only.
    [[ $(ip -4 route get "$ip") == *" dev $WS_IF "* ]] || die "$ip does not route through $WS_IF: $(ip -4 route get "$ip")"
    # The host's own files, in its upper layer: host name, its ed25519 host key, the client's key.
    install -d -m 0755 "$hdir/upper/etc" "$hdir/upper/etc/ssh"
    install -d -m 0700 "$hdir/upper/root" "$hdir/upper/root/.ssh"
    echo "$name" >"$hdir/upper/etc/hostname"
    ssh-keygen -q -t ed25519 -N "" -C "root@$name" -f "$hdir/upper/etc/ssh/ssh_host_ed25519_key"
    install -m 0600 "$dir/client/id_ed25519.pub" "$hdir/upper/root/.ssh/authorized_keys"
    key=$(awk '{print $1" "$2}' "$hdir/upper/etc/ssh/ssh_host_ed25519_key.pub")
    echo "$key" >"$hdir/host_key"
    echo "$ip $key" >>"$dir/known_hosts"
    i=$((i + 1))
  done
  local t_net t_boot states=()
  t_net=$(secs_since "$started")
  t_boot=$(now_ms)
  for name in "$@"; do start_host "$dir" "$name"; done
  for name in "$@"; do states+=("$name: $(wait_booted "$dir" "$name")"); done
  printf '%s\n' "$@" >"$dir/hosts.order"
  write_json "$dir"
  UP_DONE=1
  trap - EXIT INT TERM
  echo "lab-boot: $# hosts booted in $(secs_since "$started") (root and network $t_net, boot $(secs_since "$t_boot"); ${states[*]}); $dir/lab.json"
}

write_json() { # dir
  local dir=$1 name first=1 hdir
  {
    echo "{"
    echo "  \"workstationIp\": \"$WS_IP\","
    echo "  \"workstationInterface\": \"$WS_IF\","
    echo "  \"labNetns\": \"$LAB_NS\","
    echo "  \"image\": \"$(cat "$dir/image")\","
    echo "  \"clientKey\": \"$dir/client/id_ed25519\","
    echo "  \"knownHosts\": \"$dir/known_hosts\","
    echo "  \"hosts\": ["
    while read -r name; do
      hdir=$dir/hosts/$name
      [ "$first" -eq 1 ] || echo ","
      first=0
      printf '    { "name": "%s", "ip": "%s", "netns": "%s", "machine": "%s", "hostKey": "%s" }' \
        "$name" "$(cat "$hdir/ip")" "$PREFIX-$name" "$(cat "$hdir/machine")" "$(cat "$hdir/host_key")"
    done <"$dir/hosts.order"
    echo
    echo "  ]"
    echo "}"
  } >"$dir/lab.json.tmp"
  mv "$dir/lab.json.tmp" "$dir/lab.json"
}

# ------------------------------------------------------------------------------------- the commands

cmd_exec() { # dir name cmd…
  local hdir pid init
  hdir=$(host_dir "$1" "$2")
  shift 2
  pid=$(nspawn_of "$hdir") || die "$(basename "$hdir") is not running (bash lab/lab-boot.sh start …)"
  init=$(init_of "$pid") || die "$(basename "$hdir") has no init yet"
  [ $# -gt 0 ] || set -- bash
  exec nsenter -t "$init" -a -r -w -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 SYSTEMD_COLORS=0 \
    SYSTEMD_PAGER= TERM=dumb "$@"
}

cmd_ssh() { # dir name cmd…
  local dir=$1 hdir ip
  hdir=$(host_dir "$1" "$2")
  shift 2
  ip=$(cat "$hdir/ip")
  [[ $(ip -4 route get "$ip") == *" dev $WS_IF "* ]] || die "$ip does not route through $WS_IF (is the boot lab up?)"
  exec ssh -F none -i "$dir/client/id_ed25519" -o IdentitiesOnly=yes -o UserKnownHostsFile="$dir/known_hosts" \
    -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=5 \
    -o BindInterface="$WS_IF" -o LogLevel=ERROR "root@$ip" "$@"
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit 2
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  image)
    need_root image
    ensure_image
    ;;
  up)
    need_root up
    dir=$(lab_dir "${1:-}")
    shift
    cmd_up "$dir" "$@"
    ;;
  down)
    need_root down
    cmd_down "$(lab_dir "${1:-}")"
    ;;
  start | stop | reboot)
    need_root "$command"
    dir=$(lab_dir "${1:-}")
    [ -n "${2:-}" ] || die "usage: lab-boot.sh $command <labdir> <host>"
    take_lock "$LOCK_FILE"
    case $command in
      start) start_host "$dir" "$2" && wait_booted "$dir" "$2" ;;
      stop) stop_host "$dir" "$2" "${3:-}" ;;
      reboot) stop_host "$dir" "$2" && start_host "$dir" "$2" && wait_booted "$dir" "$2" ;;
    esac
    ;;
  exec | ssh)
    dir=$(lab_dir "${1:-}")
    host=${2:-}
    [ -n "$host" ] || die "usage: lab-boot.sh $command <labdir> <host> -- cmd…"
    shift 2
    [ "${1:-}" != -- ] || shift
    if [ "$command" = exec ]; then
      need_root exec
      cmd_exec "$dir" "$host" "$@"
    else
      cmd_ssh "$dir" "$host" "$@"
    fi
    ;;
  -h | --help | help | "") usage ;;
  *)
    say "unknown command '$command'"
    usage
    ;;
esac
