#!/usr/bin/env bash
# Installs everything pod-routes' tests, demo and benchmarks need on a bare Debian machine, idempotently:
# the lab's packages (as root), Node.js 22, the npm dependencies, Go and the tools built with it (actionlint,
# the Pulumi CLI: about 9 minutes the first time on 2 cores, seconds afterwards).
# Users deploying for real only need Node.js 22, `npm ci` and Pulumi from https://www.pulumi.com/docs/install/.
set -euo pipefail
cd "$(dirname "$0")/.."
export POD_ROUTES_TOOLS=${POD_ROUTES_TOOLS:-$HOME/.cache/pod-routes/tools}

step() { printf '\n==> %s\n' "$*"; }

step "lab packages (openssh-server, iproute2, iputils-ping, shellcheck, ...)"
bash scripts/lab-deps.sh

step "Node.js 22"
bash scripts/install-node.sh
# Without root the pinned node is not linked into /usr/local/bin; run the rest on it anyway.
PATH="$POD_ROUTES_TOOLS/bin:$PATH"

step "npm dependencies (npm ci)"
npm ci --no-audit --no-fund --loglevel=warn

step "developer tools (Go, actionlint)"
bash scripts/install-tools.sh

step "the Pulumi engine (the CLI and the dynamic-provider shim)"
bash scripts/install-pulumi.sh
