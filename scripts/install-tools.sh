#!/usr/bin/env bash
# Developer tools the tests use that npm does not ship: actionlint (lints the users' GitHub workflow).
# Built from the Go module proxy into a cache that later runs reuse.
set -euo pipefail
TOOLS=${POD_ROUTES_TOOLS:-$HOME/.cache/pod-routes/tools}
ACTIONLINT_VERSION=v1.7.12
mkdir -p "$TOOLS/bin"
if "$TOOLS/bin/actionlint" -version 2>/dev/null | grep -qx "$ACTIONLINT_VERSION"; then
  echo "install-tools: actionlint $ACTIONLINT_VERSION already in $TOOLS/bin"
  exit 0
fi
command -v go >/dev/null 2>&1 || {
  echo "install-tools: Go is needed to build actionlint (apt-get install golang-go, or https://go.dev/dl/)" >&2
  exit 1
}
echo "install-tools: building actionlint $ACTIONLINT_VERSION into $TOOLS/bin"
GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
"$TOOLS/bin/actionlint" -version | head -n 1
