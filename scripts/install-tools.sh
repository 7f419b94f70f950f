#!/usr/bin/env bash
# Developer tools the tests use that npm does not ship, into a cache that later runs reuse:
#   go          the machine's when new enough, else a pinned toolchain (scripts/install-go.sh); the lab
#               tests build their SSH client with it
#   actionlint  lints the users' GitHub workflow; built from the Go module proxy
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${POD_ROUTES_TOOLS:-$HOME/.cache/pod-routes/tools}
export POD_ROUTES_TOOLS=$TOOLS
ACTIONLINT_VERSION=v1.7.12

bash scripts/install-go.sh
go=$TOOLS/bin/go

if "$TOOLS/bin/actionlint" -version 2>/dev/null | grep -qx "$ACTIONLINT_VERSION"; then
  echo "install-tools: actionlint $ACTIONLINT_VERSION already in $TOOLS/bin"
  exit 0
fi
echo "install-tools: building actionlint $ACTIONLINT_VERSION into $TOOLS/bin"
GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod GOTOOLCHAIN=local "$go" install \
  "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
"$TOOLS/bin/actionlint" -version | head -n 1
