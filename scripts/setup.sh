#!/usr/bin/env bash
# Installs everything pod-routes' tests, demo and benchmarks need on a bare Debian machine, idempotently:
# the lab's packages (as root) and the npm dependencies.
# Users deploying for real only need `npm ci` and Pulumi from https://www.pulumi.com/docs/install/.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "lab packages (openssh-server, iproute2, iputils-ping, ...)"
bash scripts/lab-deps.sh

step "npm dependencies (npm ci)"
npm ci --no-audit --no-fund --loglevel=warn

step "developer tools (Go, actionlint)"
bash scripts/install-tools.sh
