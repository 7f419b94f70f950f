#!/usr/bin/env bash
# The pod-routes network lab: one network namespace per machine of a machines.txt, on a bridge inside a
# lab namespace, each with a real sshd; per machine with a pod subnet, a pod namespace on a veth with the
# node as its gateway. Traffic stays inside these namespaces and one veth from the root namespace (the
# "workstation": the .1 of the hosts' /24, or .254 when .1 is a host), from which the tests run ssh.
#
# Every host has a private mount (and UTS) namespace, held by a small holder process for the life of the
# lab: /etc is an overlay (writes land in labdir/hosts/<host>/etc-upper), /run, /tmp, /root and /var/log
# are fresh tmpfs (so /run/systemd/system does not exist and nothing reaches the real machine or another
# host). The host's sshd and every session it starts run in that namespace; so does `lab.sh exec`.
#
#   lab.sh up <machines.json> [labdir]     build the lab (tears an old one down first); writes labdir/lab.json
#                                           machines.json comes from lab/machines.ts, which reads a machines.txt
#                                           with pod-routes' own parser and rules (npm run lab -- up <machines.txt>)
#   lab.sh down [labdir]                    remove everything the lab made; safe after a failed up, and twice
#   lab.sh exec <host> [labdir] -- cmd…     run a command in a host's network, mount and UTS namespaces
#   lab.sh ssh <host> [labdir] -- cmd…      run a command on a host over real ssh with its pinned host key
#   lab.sh sshd-stop <host> [labdir]        stop one host's sshd (failure tests); its namespaces stay
#   lab.sh sshd-start <host> [labdir]       start it again (same host key, same /etc)
#   lab.sh gen <N> [file]                   machines.txt with N hosts host-00… at 198.19.249.(10+i), 10.200.i.0/24
#
# labdir defaults to $POD_ROUTES_LAB_DIR, else <repo>/.lab. Needs root (scripts/lab-deps.sh installs the
# tools). One lab per machine: its namespaces are named prl-* and the workstation veth holds the hosts' /24.
# `up` replaces a lab made by hand or left by a run that has ended, but waits (LAB_WAIT_SECONDS, default 300)
# while another live run's lab is up; LAB_TAKEOVER=1 replaces it anyway. The owner is lab.sh's parent
# process (the test runner), or LAB_OWNER_PID.
# LAB_JOBS (default 8) hosts are set up in parallel; LAB_KEEP_ON_FAILURE=1 keeps a failed lab for debugging.
# Every host's sshd has three host keys: ed25519 (hostKey in lab.json, the one known_hosts pins), ECDSA
# nistp256 and RSA 3072 (all three under hostKeys). RSA keys take 0.5-2 s of CPU each to make, so they are
# made once per host index and kept in $LAB_KEY_CACHE (default /var/cache/pod-routes-lab; set it empty for
# fresh ones every time); `down` leaves that cache alone. The ed25519 and ECDSA keys are new in every lab.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lab/lab-lib.sh
. "$ROOT/lab/lab-lib.sh"
PREFIX=prl
LAB_NS=$PREFIX-lab
WS_IF=$PREFIX-ws
MARKER=.pod-routes-lab
LOCK_FILE=/run/lock/pod-routes-lab.lock
REGISTRY=/run/lock/pod-routes-lab.current
JOBS=${LAB_JOBS:-8}
SSHD=${SSHD:-/usr/sbin/sshd}
KEY_CACHE=${LAB_KEY_CACHE-/var/cache/pod-routes-lab}

die() {
  echo "lab: $*" >&2
  exit 1
}
say() { echo "lab: $*" >&2; }
need_root() { [ "$(id -u)" -eq 0 ] || die "'$1' needs root (network namespaces, mounts); run: sudo npm run lab -- $1 …"; }

# The lab directory as an absolute path, without creating it.
resolve_dir() { realpath -m -- "${1:-${POD_ROUTES_LAB_DIR:-$ROOT/.lab}}"; }

pid_of() { # file → pid if that process is alive
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  alive "$pid" && echo "$pid"
}
# The namespace holder of a host, only if the pid in ns.pid still is that holder (never a reused pid:
# entering the wrong process's namespaces could change the real machine).
holder_of() { # dir name
  local pid argv0
  pid=$(pid_of "$1/hosts/$2/ns.pid") || return 1
  IFS= read -r -d '' argv0 2>/dev/null <"/proc/$pid/cmdline" || true
  [ "$argv0" = "pod-routes-lab:$2" ] && echo "$pid"
}
# Likewise the sshd of a host: the pid in sshd.pid, only if it runs that host's sshd_config.
sshd_of() { # dir name
  local pid
  pid=$(pid_of "$1/hosts/$2/sshd.pid") || return 1
  [[ $(cmdline_of "$pid") == *"-f $1/hosts/$2/sshd_config"* ]] && echo "$pid"
}

# Which lab is up, and for whom: "<labdir> <owner pid> <owner start time>" of the process that ran `up`
# (the test runner: lab.sh's parent, or $LAB_OWNER_PID). Several people or test runs can share a machine;
# the lab's names and addresses are machine-wide, so a second `up` waits while the owner of the current
# lab is alive (up to $LAB_WAIT_SECONDS, default 300) instead of tearing that lab down under it. A lab whose
# owner has exited, or is an interactive shell (made by hand), or LAB_TAKEOVER=1, is simply replaced.
owner_pid() { echo "${LAB_OWNER_PID:-$PPID}"; }
register_lab() { # dir
  local pid
  pid=$(owner_pid)
  mkdir -p "$(dirname "$REGISTRY")"
  printf '%s\t%s\t%s\n' "$1" "$pid" "$(proc_start "$pid" || echo 0)" >"$REGISTRY.tmp"
  mv "$REGISTRY.tmp" "$REGISTRY"
}
# Prints "<labdir> <pid> <command>" when another live process owns the lab that is up; else nothing.
other_owner() { # dir
  local dir pid start comm
  [ -r "$REGISTRY" ] || return 0
  IFS=$'\t' read -r dir pid start <"$REGISTRY" || return 0
  [ "$dir" != "$1" ] || return 0
  [ "$pid" != "$(owner_pid)" ] || return 0
  alive "$pid" && [ "$(proc_start "$pid")" = "$start" ] || return 0
  [ -e "$dir/$MARKER" ] || return 0
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || echo "?")
  case $comm in bash | sh | dash | zsh | fish | ksh | tmux* | screen | sudo | su) return 0 ;; esac
  echo "$dir $pid $comm"
}


# ---------------------------------------------------------------------------------------------- down

cmd_down() {
  need_root down
  local dir other
  dir=$(resolve_dir "${1:-}")
  take_lock "$LOCK_FILE"
  other=$(other_owner "$dir")
  if [ -n "$other" ] && [ -z "${LAB_TAKEOVER:-}" ]; then
    # Another run's lab is up: remove what is left of ours (files; its processes are already gone with
    # its namespaces) and leave theirs alone.
    read -r other _ <<<"$other"
    say "the lab that is up belongs to another run ($other); removing only $dir"
    remove_dir "$dir"
    return 0
  fi
  teardown_all "$dir"
  remove_dir "$dir"
  rm -f "$REGISTRY"
  local remaining
  remaining=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true)
  [ -z "$remaining" ] || die "namespaces left after down: $remaining"
}

# The processes of the lab: everything in a prl-* network namespace or in a lab host's mount namespace
# (sessions inherit it, wherever their network namespace went), every namespace holder, and every sshd of
# this lab directory. The namespaces are remembered across rounds (a holder killed in the first round
# still names the mount namespace of a session that appears in the second). One `find` reads every
# process's namespaces.
declare -A LAB_NET=() LAB_MNT=()
lab_pids() { # dir
  local dir=$1 ns ino f pid kind target
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
    if ino=$(stat -L -c %i "/run/netns/$ns" 2>/dev/null); then LAB_NET["net:[$ino]"]=1; fi
  done
  local pids=()
  for f in /proc/[0-9]*; do
    pid=${f#/proc/}
    if [ "$pid" = $$ ]; then continue; fi
    case $(cmdline_of "$pid") in
      pod-routes-lab:*)
        if target=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null); then LAB_MNT[$target]=1; fi
        pids+=("$pid")
        ;;
      *"-f $dir/hosts/"*) pids+=("$pid") ;;
    esac
  done
  if [ ${#LAB_NET[@]} -gt 0 ] || [ ${#LAB_MNT[@]} -gt 0 ]; then
    while read -r f kind target; do
      pid=${f#/proc/}
      pid=${pid%%/*}
      if [ "$pid" = $$ ] || [ -z "$target" ]; then continue; fi
      if [ "$kind" = net ] && [ -n "${LAB_NET[$target]:-}" ]; then pids+=("$pid"); fi
      if [ "$kind" = mnt ] && [ -n "${LAB_MNT[$target]:-}" ]; then pids+=("$pid"); fi
    done < <(find /proc/[0-9]*/ns/ -maxdepth 1 \( -name net -o -name mnt \) -printf '%h %f %l\n' 2>/dev/null || true)
  fi
  # Only live ones (not the finds and awks of this very scan, not zombies).
  LAB_PIDS=()
  for pid in "${pids[@]}"; do
    if alive "$pid"; then LAB_PIDS+=("$pid"); fi
  done
}

teardown_all() { # dir
  local dir=$1 started round ns namespaces found=""
  started=$(now_ms)
  # Up to three rounds: a session that was being set up while we looked shows up in the next one.
  for round in 1 2 3; do
    lab_pids "$dir"
    [ ${#LAB_PIDS[@]} -gt 0 ] || break
    found=1
    kill -TERM "${LAB_PIDS[@]}" 2>/dev/null || true
    if ! wait_gone 2000 "${LAB_PIDS[@]}"; then
      kill -KILL "${LAB_PIDS[@]}" 2>/dev/null || true
      wait_gone 3000 "${LAB_PIDS[@]}" || say "lab processes that did not exit: ${LAB_PIDS[*]}"
    fi
    [ "$round" -lt 3 ] || say "lab processes kept appearing during down"
  done
  namespaces=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true)
  for ns in $namespaces; do
    ip netns del "$ns" 2>/dev/null || { sleep 0.2; ip netns del "$ns" 2>/dev/null; } || say "could not delete namespace $ns"
  done
  ip link del "$WS_IF" 2>/dev/null || true
  if [ -n "$found" ] || [ -n "$namespaces" ]; then say "down in $(secs_since "$started")"; fi
}

remove_dir() { # dir
  local dir=$1
  # Nothing of the lab is mounted in the root mount namespace (the overlays live in the hosts' private
  # ones), but a stray mount under the lab directory would make rm -rf fail or worse: detach it.
  findmnt -rn -o TARGET 2>/dev/null | awk -v d="$dir/" 'index($0 "/", d) == 1' | sort -r |
    while read -r target; do umount -l "$target" 2>/dev/null || true; done
  if [ -d "$dir" ]; then
    if [ -e "$dir/$MARKER" ] || [ -z "$(ls -A "$dir")" ]; then
      rm -rf -- "$dir"
    else
      say "$dir is not a lab directory (no $MARKER); left in place"
    fi
  fi
}

# ------------------------------------------------------------------------------------------------ up

# The host's private world, run by `ip netns exec <ns> unshare -m -u`: overlay /etc, fresh tmpfs for /run,
# /tmp, /root and /var/log, the lab directory bound back if one of those hid it, then sleep forever so
# the namespaces outlive sshd restarts. $1 host dir, $2 lab dir, $3 host name.
# shellcheck disable=SC2016 # expanded by the holder's own bash
HOLDER='
set -eu
hdir=$1 labdir=$2 name=$3
exec 9<"$labdir"
echo 1 >/proc/sys/net/ipv4/ip_forward
echo "$name" >/proc/sys/kernel/hostname
mkdir -p "$hdir/etc-upper" "$hdir/etc-work"
if ! mount -t overlay overlay -o "lowerdir=/etc,upperdir=$hdir/etc-upper,workdir=$hdir/etc-work" /etc; then
  # The lab directory sits on a filesystem that cannot be an overlay upper layer (overlayfs itself, in
  # containers): keep this host s /etc changes on a tmpfs private to it instead.
  echo "lab: /etc upper layer falls back to a private tmpfs" >&2
  mkdir -p "$hdir/etc-tmpfs"
  mount -t tmpfs -o mode=0755 tmpfs "$hdir/etc-tmpfs"
  mkdir -p "$hdir/etc-tmpfs/upper" "$hdir/etc-tmpfs/work"
  mount -t overlay overlay -o "lowerdir=/etc,upperdir=$hdir/etc-tmpfs/upper,workdir=$hdir/etc-tmpfs/work" /etc
fi
[ "$(cat /etc/hostname 2>/dev/null)" = "$name" ] || echo "$name" >/etc/hostname
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -m 0755 /run/sshd /run/lock
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=0700 tmpfs /root
if [ -d /var/log ]; then mount -t tmpfs -o mode=0755 tmpfs /var/log; fi
if [ ! -e "$labdir/.pod-routes-lab" ]; then
  mkdir -p "$labdir"
  mount -c --bind /proc/self/fd/9 "$labdir"
fi
exec 9<&-
cd /
echo $$ >"$hdir/ns.pid.tmp"
mv "$hdir/ns.pid.tmp" "$hdir/ns.pid"
exec -a "pod-routes-lab:$name" sleep infinity
'

wait_file() { # timeout_ms file pid-to-watch
  local deadline=$(($(now_ms) + $1))
  until [ -s "$2" ]; do
    alive "$3" || return 1
    [ "$(now_ms)" -ge "$deadline" ] && return 1
    sleep 0.01
  done
}

start_holder() { # dir name
  local hdir=$1/hosts/$2
  rm -f "$hdir/ns.pid"
  setsid ip netns exec "$PREFIX-$2" unshare --mount --uts --propagation private \
    bash -c "$HOLDER" holder "$hdir" "$1" "$2" </dev/null >>"$hdir/holder.log" 2>&1 8>&- &
  wait_file 10000 "$hdir/ns.pid" $! || {
    cat "$hdir/holder.log" >&2
    die "the namespaces of $2 did not come up; see $hdir/holder.log"
  }
  # The holder writes its pid just before it execs into its named sleep, which is how holder_of knows it:
  # wait for that name too (reading it between the two failed about one lab up in twenty).
  local deadline=$(($(now_ms) + 10000))
  until holder_of "$1" "$2" >/dev/null; do
    [ "$(now_ms)" -lt "$deadline" ] || die "the namespace holder of $2 did not take its name; see $hdir/holder.log"
    sleep 0.01
  done
}

start_sshd() { # dir name
  local hdir=$1/hosts/$2 holder
  holder=$(holder_of "$1" "$2") || die "$2 has no namespace holder (is the lab up?)"
  rm -f "$hdir/sshd.pid"
  setsid nsenter -t "$holder" -n -m -u -- "$SSHD" -D -f "$hdir/sshd_config" -E "$hdir/sshd.log" \
    </dev/null >>"$hdir/sshd.out" 2>&1 8>&- &
  # sshd writes its PidFile once it listens.
  wait_file 10000 "$hdir/sshd.pid" $! || {
    tail -n 20 "$hdir/sshd.log" "$hdir/sshd.out" >&2 2>/dev/null || true
    die "sshd on $2 did not start; see $hdir/sshd.log"
  }
}

stop_sshd() { # dir name
  local hdir=$1/hosts/$2 pid
  pid=$(sshd_of "$1" "$2") || { rm -f "$hdir/sshd.pid"; return 0; }
  # The listener only, like `systemctl stop ssh`: sessions it started go on.
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone 5000 "$pid" || { kill -KILL "$pid" 2>/dev/null || true; wait_gone 2000 "$pid" || true; }
  rm -f "$hdir/sshd.pid"
}

write_sshd_config() { # dir name ip
  local hdir=$1/hosts/$2
  cat >"$hdir/sshd_config" <<CONF
# sshd of lab host $2 (pod-routes lab); runs in the host's network and mount namespaces.
ListenAddress $3:22
HostKey "$hdir/host_key"
HostKey "$hdir/host_key_ecdsa"
HostKey "$hdir/host_key_rsa"
AuthorizedKeysFile "$1/client/authorized_keys"
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
PidFile "$hdir/sshd.pid"
LogLevel VERBOSE
MaxStartups 200:30:400
MaxSessions 100
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
}

# The RSA host key of the host with this index: a copy of the cached one, made first if need be. Only
# one `up` runs at a time (the lab lock) and each index belongs to one host, so the cache needs no lock;
# a key is made aside and renamed into it, private part first, and counts once both parts are there.
rsa_host_key() { # hdir index
  local out=$1/host_key_rsa cached=$KEY_CACHE/rsa-3072-$2
  if [ -n "$KEY_CACHE" ]; then
    if { [ -s "$cached" ] && [ -s "$cached.pub" ]; } || new_rsa_key "$cached"; then
      install -m 0600 "$cached" "$out" && install -m 0644 "$cached.pub" "$out.pub" && return 0
    fi
    say "cannot use the key cache $KEY_CACHE; making a fresh RSA host key"
  fi
  rm -f "$out" "$out.pub"
  ssh-keygen -q -t rsa -b 3072 -N "" -C pod-routes-lab -f "$out"
}
new_rsa_key() { # path
  (umask 077 && mkdir -p "$(dirname "$1")") &&
    rm -f "$1.tmp" "$1.tmp.pub" &&
    ssh-keygen -q -t rsa -b 3072 -N "" -C pod-routes-lab -f "$1.tmp" &&
    mv "$1.tmp" "$1" && mv "$1.tmp.pub" "$1.pub"
}

pub_line() { awk '{print $1" "$2}' "$1"; } # file.pub → "type base64", without the comment

# One host, in the background: namespaces, links, addresses, pod, host keys, holder, sshd.
setup_host() { # dir index ip fqdn name [pod_cidr pod_gateway pod_ip pod_prefix]
  local dir=$1 idx=$2 ip=$3 fqdn=$4 name=$5 pod=${6:-} gw=${7:-} pod_ip=${8:-} bits=${9:-}
  local ns=$PREFIX-$name hdir=$dir/hosts/$name
  # Making an RSA key is the slowest step of a host: it runs while the links are set up.
  local rsa_job
  rsa_host_key "$hdir" "$idx" &
  rsa_job=$!
  ip netns add "$ns"
  ip -n "$LAB_NS" link add "b$idx" type veth peer name eth0 netns "$ns"
  ip -n "$LAB_NS" link set "b$idx" master br0 up
  local batch="link set lo up
addr add $ip/24 dev eth0
link set eth0 up"
  if [ -n "$pod" ]; then
    ip netns add "$ns-pod"
    batch+="
link add pod0 type veth peer name eth0 netns $ns-pod
addr add $gw/$bits dev pod0
link set pod0 up"
    printf 'link set lo up\n' | ip -n "$ns-pod" -batch -
  fi
  printf '%s\n' "$batch" | ip -n "$ns" -batch -
  if [ -n "$pod" ]; then
    printf 'addr add %s/%s dev eth0\nlink set eth0 up\nroute add default via %s\n' "$pod_ip" "$bits" "$gw" |
      ip -n "$ns-pod" -batch -
  fi
  ssh-keygen -q -t ed25519 -N "" -C "root@$name" -f "$hdir/host_key"
  ssh-keygen -q -t ecdsa -b 256 -N "" -C "root@$name" -f "$hdir/host_key_ecdsa"
  wait "$rsa_job" || die "making the RSA host key of $name failed"
  write_sshd_config "$dir" "$name" "$ip"
  start_holder "$dir" "$name"
  start_sshd "$dir" "$name"
  local key
  key=$(pub_line "$hdir/host_key.pub")
  echo "$ip $key" >"$hdir/known_hosts.line"
  jq -n --arg name "$name" --arg fqdn "$fqdn" --arg ip "$ip" --arg ns "$ns" --arg key "$key" \
    --arg ecdsa "$(pub_line "$hdir/host_key_ecdsa.pub")" --arg rsa "$(pub_line "$hdir/host_key_rsa.pub")" \
    --arg pod "$pod" --arg pod_ip "$pod_ip" --arg gw "$gw" \
    '{name: $name, fqdn: $fqdn, ip: $ip}
      + (if $pod == "" then {} else {podCidr: $pod, podIp: $pod_ip, podGateway: $gw, podNetns: ($ns + "-pod")} end)
      + {netns: $ns, hostKey: $key, hostKeys: {ed25519: $key, ecdsa: $ecdsa, rsa: $rsa}}' \
    >"$hdir/host.json"
}

write_json() { # dir
  # One jq for the whole lab, however many hosts: each host's host.json, then its pids in the same order.
  local dir=$1 name sshd holder files=() pids=()
  while read -r name; do
    sshd=$(sshd_of "$dir" "$name") || sshd=null
    holder=$(holder_of "$dir" "$name") || holder=null
    files+=("$dir/hosts/$name/host.json")
    pids+=("[$sshd,$holder]")
  done <"$dir/hosts.order"
  jq -s --arg ws "$(cat "$dir/workstation_ip")" --arg wsif "$WS_IF" --arg ns "$LAB_NS" \
    --arg key "$dir/client/id_ed25519" --arg known "$dir/known_hosts" --argjson pids "[$(IFS=,; echo "${pids[*]}")]" \
    '{workstationIp: $ws, workstationInterface: $wsif, labNetns: $ns, clientKey: $key, knownHosts: $known,
      hosts: [to_entries[] | .value + {sshdPid: $pids[.key][0], nsPid: $pids[.key][1]}]}' \
    "${files[@]}" >"$dir/lab.json.tmp"
  mv "$dir/lab.json.tmp" "$dir/lab.json"
}

UP_DIR=""
UP_DONE=""
on_up_exit() {
  local rc=$?
  trap - EXIT INT TERM
  [ -z "$UP_DONE" ] || return 0
  say "up failed"
  # Hosts still being set up would race the teardown: stop them first.
  local running
  running=$(jobs -p)
  if [ -n "$running" ]; then
    # shellcheck disable=SC2086 # one pid per word
    kill -TERM $running 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  if [ -n "${LAB_KEEP_ON_FAILURE:-}" ]; then
    say "LAB_KEEP_ON_FAILURE is set: the lab stays for debugging; remove it with: sudo npm run lab -- down $UP_DIR"
  else
    say "tearing down"
    cmd_down "$UP_DIR" || true
  fi
  [ "$rc" -ne 0 ] || rc=1
  exit "$rc"
}

cmd_up() {
  need_root up
  local machines=${1:-}
  [ -n "$machines" ] || die "usage: lab.sh up <machines.json> [labdir]"
  [ -r "$machines" ] || die "cannot read $machines"
  local dir
  dir=$(resolve_dir "${2:-}")
  case "$dir" in
    / | /etc | /etc/* | /proc | /proc/* | /sys | /sys/* | /dev | /dev/* | /usr | /usr/* | "$ROOT")
      die "$dir cannot be a lab directory" ;;
  esac
  [[ $dir != *[,:\"\\]* ]] || die "the lab directory path must not contain , : \" or \\ (it goes into mount options): $dir"
  local tool
  for tool in ip ssh ssh-keygen "$SSHD" nsenter unshare setsid flock findmnt ping jq; do
    command -v "$tool" >/dev/null || die "$tool is missing; run: sudo bash scripts/lab-deps.sh"
  done

  # The machines, validated by lab/machines.ts: this script parses no machines.txt, address or CIDR.
  local machines_tsv net ws_ip lines=() line ip fqdn name pod gw pod_ip bits
  if ! machines_tsv=$(jq -r '.machines[] | [.ip, .fqdn, .name, .podCidr // "", .podGateway // "", .podIp // "", .podPrefix // ""] | map(tostring) | join(" ")' "$machines") ||
    ! net=$(jq -er '.net' "$machines") || ! ws_ip=$(jq -er '.workstationIp' "$machines"); then
    die "cannot read $machines; make it with lab/machines.ts (npm run lab -- up <machines.txt>)"
  fi
  mapfile -t lines <<<"$machines_tsv"
  [ -n "${lines[0]:-}" ] || die "$machines lists no machines"

  local started t
  started=$(now_ms)
  wait_for_other_lab "$LOCK_FILE" "$dir" "the lab" "sudo npm run lab -- down"
  cmd_down "$dir"
  refuse_shadowing "$net" "the lab"
  begin_up "$dir"
  register_lab "$dir"
  echo "$ws_ip" >"$dir/workstation_ip"

  t=$(now_ms)
  ip netns add "$LAB_NS"
  ip -n "$LAB_NS" -batch - <<BATCH
link set lo up
link add br0 type bridge
link set br0 up
BATCH
  ip link add "$WS_IF" type veth peer name ws netns "$LAB_NS"
  ip -n "$LAB_NS" link set ws master br0 up
  ip addr add "$ws_ip/24" dev "$WS_IF"
  ip link set "$WS_IF" up
  ssh-keygen -q -t ed25519 -N "" -C pod-routes-lab-client -f "$dir/client/id_ed25519"
  cp "$dir/client/id_ed25519.pub" "$dir/client/authorized_keys"
  local t_base
  t_base=$(secs_since "$t")

  # Hosts in parallel, at most $JOBS at a time; each writes hosts/<name>/ok when it is done.
  t=$(now_ms)
  local idx=0 running=0 names=()
  for line in "${lines[@]}"; do
    read -r ip fqdn name pod gw pod_ip bits <<<"$line"
    names+=("$name")
    mkdir -p "$dir/hosts/$name"
    (
      trap - INT TERM
      set -e
      setup_host "$dir" "$idx" "$ip" "$fqdn" "$name" "${pod:-}" "${gw:-}" "${pod_ip:-}" "${bits:-}"
      : >"$dir/hosts/$name/ok"
    ) >"$dir/hosts/$name/setup.log" 2>&1 </dev/null 8>&- &
    idx=$((idx + 1))
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
      wait -n || true
      running=$((running - 1))
    fi
  done
  wait || true
  local failed=()
  for name in "${names[@]}"; do
    [ -e "$dir/hosts/$name/ok" ] || failed+=("$name")
  done
  if [ ${#failed[@]} -gt 0 ]; then
    for name in "${failed[@]:0:3}"; do
      say "setting up $name failed:"
      sed 's/^/    /' "$dir/hosts/$name/setup.log" >&2
    done
    die "${#failed[@]} of ${#names[@]} hosts failed: ${failed[*]}"
  fi
  local t_hosts
  t_hosts=$(secs_since "$t")

  if grep -qs "falls back" "$dir"/hosts/*/holder.log; then
    say "note: $dir cannot hold an overlay upper layer (overlayfs?); each host's /etc changes live on a private tmpfs"
  fi
  printf '%s\n' "${names[@]}" >"$dir/hosts.order"
  for name in "${names[@]}"; do cat "$dir/hosts/$name/known_hosts.line"; done >"$dir/known_hosts"
  write_json "$dir"
  UP_DONE=1
  trap - EXIT INT TERM
  echo "lab: ${#names[@]} hosts up in $(secs_since "$started") (bridge and keys $t_base, hosts $t_hosts with $JOBS in parallel); $dir/lab.json"
}

# ------------------------------------------------------------------------------------- other commands

# `exec` and `ssh` take `<host> [labdir] [--] cmd…`.
cmd_exec() { # dir host cmd…
  local dir=$1 host=$2 holder
  shift 2
  [ -d "$dir/hosts/$host" ] || die "no host $host in the lab at $dir"
  holder=$(holder_of "$dir" "$host") || die "the namespaces of $host are gone (is the lab up? sudo npm run lab -- up <machines.txt>)"
  [ $# -gt 0 ] || set -- bash
  exec nsenter -t "$holder" -n -m -u -- "$@"
}

cmd_ssh() { # dir host cmd…
  local dir=$1 host=$2 ip
  shift 2
  [ -r "$dir/hosts/$host/known_hosts.line" ] || die "no host $host in the lab at $dir"
  read -r ip _ <"$dir/hosts/$host/known_hosts.line"
  exec ssh -F none -i "$dir/client/id_ed25519" -o IdentitiesOnly=yes -o UserKnownHostsFile="$dir/known_hosts" \
    -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=5 \
    -o BindInterface="$WS_IF" \
    -o LogLevel=ERROR "root@$ip" "$@"
}

cmd_gen() { # N [file]
  local n=${1:-} out=${2:-/dev/stdout} i
  if ! [[ $n =~ ^[0-9]{1,3}$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt 200 ]; then die "usage: lab.sh gen <N 1..200> [file]"; fi
  {
    echo "# $n lab hosts (lab/lab.sh gen $n)"
    for ((i = 0; i < n; i++)); do
      printf '198.19.249.%d host-%02d.kubernetes.local host-%02d 10.200.%d.0/24\n' $((10 + i)) "$i" "$i" "$i"
    done
  } >"$out"
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit 2
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  exec | ssh)
    host=${1:-}
    if [ -z "$host" ] || [ "$host" = -- ]; then die "usage: lab.sh $command <host> [labdir] -- cmd…"; fi
    shift
    dir_arg=""
    if [ $# -gt 0 ] && [ "$1" != -- ]; then dir_arg=$1; shift; fi
    [ "${1:-}" = -- ] && shift
    dir=$(resolve_dir "$dir_arg")
    if [ "$command" = exec ]; then
      need_root exec
      cmd_exec "$dir" "$host" "$@"
    else
      cmd_ssh "$dir" "$host" "$@"
    fi
    ;;
  sshd-stop | sshd-start)
    need_root "$command"
    host=${1:-}
    [ -n "$host" ] || die "usage: lab.sh $command <host> [labdir]"
    dir=$(resolve_dir "${2:-}")
    [ -e "$dir/hosts/$host/host.json" ] || die "no host $host in the lab at $dir"
    if [ "$command" = sshd-stop ]; then
      stop_sshd "$dir" "$host"
    elif ! sshd_of "$dir" "$host" >/dev/null; then
      start_sshd "$dir" "$host"
    fi
    write_json "$dir"
    ;;
  gen) cmd_gen "$@" ;;
  -h | --help | help | "") usage ;;
  *) say "unknown command '$command'"; usage ;;
esac
