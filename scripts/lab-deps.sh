#!/usr/bin/env bash
# Installs what the network lab (lab/lab.sh: e2e tests, demo, benchmarks) and its booting variant
# (lab/lab-boot.sh: hosts running systemd) need on a bare Debian or Ubuntu machine, and what
# scripts/install-go.sh needs to fetch Go, as root, without questions.
# Idempotent: when every tool is already there it does not touch apt at all. The packages' maintainer
# scripts are kept from starting a system-wide sshd (the lab runs its own, one per lab host, inside
# network namespaces).
#
#   sudo bash scripts/lab-deps.sh          install what is missing
#   bash scripts/lab-deps.sh --check       only report; exit 1 when something is missing
#
# Under CI=true a tool still missing after the install is a loud error (a GitHub Actions annotation).
set -euo pipefail

# tool:package — the tool is looked up on PATH and in the sbin directories (not on a user's PATH).
need=(
  sshd:openssh-server
  ssh:openssh-client
  ssh-keygen:openssh-client
  ip:iproute2
  ping:iputils-ping
  nsenter:util-linux
  unshare:util-linux
  setsid:util-linux
  flock:util-linux
  findmnt:util-linux
  mount:mount
  realpath:coreutils
  awk:mawk
  # lab/lab.sh reads its machines (from lab/machines.ts) and writes lab.json with it.
  jq:jq
  # lab/lab-boot.sh: hosts that boot systemd as PID 1 (a cached Debian root, booted by systemd-nspawn).
  mmdebstrap:mmdebstrap
  systemd-nspawn:systemd-container
  # scripts/shellcheck.sh lints the host scripts with it.
  shellcheck:shellcheck
  # Not the lab's own: scripts/install-go.sh fetches Go with these when the machine has none.
  curl:curl
  unzip:unzip
  update-ca-certificates:ca-certificates
)

have() {
  local p
  # bash's `command -v` also reports a file without execute permission; test it.
  for p in $(type -aP "$1" 2>/dev/null) "/usr/sbin/$1" "/sbin/$1"; do
    if [ -f "$p" ] && [ -x "$p" ]; then return 0; fi
  done
  return 1
}
missing_packages() {
  local entry
  for entry in "${need[@]}"; do have "${entry%%:*}" || echo "${entry#*:}"; done | sort -u
}
missing_tools() {
  local entry
  for entry in "${need[@]}"; do have "${entry%%:*}" || echo "${entry%%:*}"; done
}
loud() {
  echo "lab-deps: $*" >&2
  if [ "${CI:-}" = true ]; then echo "::error title=lab-deps::$*"; fi
}
kernel_notes() {
  # The lab mounts an overlay over each host's /etc; a kernel without overlayfs cannot run it.
  if ! grep -qw overlay /proc/filesystems 2>/dev/null; then
    modprobe overlay 2>/dev/null || true
    grep -qw overlay /proc/filesystems 2>/dev/null ||
      echo "lab-deps: note: overlayfs is not listed in /proc/filesystems; the lab needs it (modprobe overlay)" >&2
  fi
}

mapfile -t packages < <(missing_packages)
if [ "${1:-}" = --check ]; then
  if [ ${#packages[@]} -gt 0 ]; then
    loud "missing: $(missing_tools | tr '\n' ' ')(packages: ${packages[*]})"
    exit 1
  fi
  echo "lab-deps: every lab tool is present"
  exit 0
fi
if [ ${#packages[@]} -eq 0 ]; then
  echo "lab-deps: every lab tool is present"
  kernel_notes
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  loud "missing packages: ${packages[*]}; run this script as root: sudo bash scripts/lab-deps.sh"
  exit 1
fi
command -v apt-get >/dev/null || { loud "missing packages ${packages[*]} and no apt-get to install them"; exit 1; }

echo "lab-deps: installing ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
# No service starts from the packages' postinst while we install (invoke-rc.d and deb-systemd-invoke
# both obey policy-rc.d); a policy-rc.d already there is put back afterwards.
policy=/usr/sbin/policy-rc.d
backup=""
if [ -e "$policy" ]; then
  backup=$(mktemp /usr/sbin/policy-rc.d.lab-deps.XXXXXX)
  mv "$policy" "$backup"
fi
restore_policy() {
  rm -f "$policy"
  if [ -n "$backup" ]; then mv "$backup" "$policy"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# lab-deps.sh: no services start during this install\nexit 101\n' >"$policy"
chmod 0755 "$policy"

apt-get update -qq
apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef \
  -o Dpkg::Options::=--force-confold "${packages[@]}"

still=$(missing_tools | tr '\n' ' ')
if [ -n "$still" ]; then
  loud "still missing after installing ${packages[*]}: $still"
  exit 1
fi
kernel_notes
echo "lab-deps: done"
