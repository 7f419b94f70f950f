#!/usr/bin/env bash
# ShellCheck over the host scripts (ssh/host-program/sh/*.sh, as POSIX sh: they run under dash and bash on
# the hosts) and over the project's own scripts (scripts/*.sh, lab/*.sh, .ci/run). Exits non-zero on any finding, or
# when shellcheck is missing (scripts/lab-deps.sh installs it; on Debian: apt-get install shellcheck).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if ! command -v shellcheck >/dev/null; then
  echo "shellcheck.sh: shellcheck is missing; run: sudo bash scripts/lab-deps.sh (or apt-get install shellcheck)" >&2
  exit 2
fi

status=0
shopt -s nullglob
host_scripts=(ssh/host-program/sh/*.sh)
if [ ${#host_scripts[@]} -eq 0 ]; then
  echo "shellcheck.sh: no ssh/host-program/sh/*.sh to check" >&2
  exit 2
fi
shellcheck -s sh "${host_scripts[@]}" || status=1
project_scripts=(scripts/*.sh lab/*.sh .ci/run)
shellcheck "${project_scripts[@]}" || status=1
if [ "$status" -eq 0 ]; then
  echo "shellcheck.sh: ${#host_scripts[@]} host scripts (sh) and ${#project_scripts[@]} project scripts: no findings"
fi
exit "$status"
