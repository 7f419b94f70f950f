#!/usr/bin/env bash
# Ansible for the benchmarks' baseline (`npm run bench` calls this): ansible-core from PyPI, pinned, in a
# virtual environment of its own in the tools cache ($POD_ROUTES_TOOLS/ansible-venv, by default
# ~/.cache/pod-routes/tools/ansible-venv). Idempotent: does nothing when that version is already there.
# Prints the venv's ansible-playbook path as its last line.
set -euo pipefail
TOOLS=${POD_ROUTES_TOOLS:-$HOME/.cache/pod-routes/tools}
VENV=$TOOLS/ansible-venv
# The newest ansible-core whose controller runs on Python 3.11 (2.20 needs 3.12).
ANSIBLE_CORE_VERSION=2.19.14
PYTHON=${PYTHON:-python3}

installed() {
  [ -x "$VENV/bin/ansible-playbook" ] &&
    "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("ansible-core"))' 2>/dev/null |
    grep -qx "$ANSIBLE_CORE_VERSION"
}

if installed; then
  echo "install-ansible: ansible-core $ANSIBLE_CORE_VERSION already in $VENV" >&2
else
  echo "install-ansible: installing ansible-core $ANSIBLE_CORE_VERSION into $VENV" >&2
  rm -rf "$VENV"
  mkdir -p "$TOOLS"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "ansible-core==$ANSIBLE_CORE_VERSION" >&2
  installed || {
    echo "install-ansible: ansible-core $ANSIBLE_CORE_VERSION did not install into $VENV" >&2
    exit 1
  }
fi
echo "$VENV/bin/ansible-playbook"
