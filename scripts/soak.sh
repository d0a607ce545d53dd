#!/usr/bin/env bash
# soak.sh runs the soak test (scripts/soak; docs/reliability.md) for SOAK
# (default 30m): pairs of phones call each other and re-register through an
# in-process daemon while memory, goroutines, open files and relay ports are
# sampled; it fails when any of them grows or a port is still held at the
# end. Output goes to stdout and to out/soak-$SOAK.log.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
SOAK="${SOAK:-30m}"
mkdir -p out
set +e
"$GO" run ./scripts/soak -duration "$SOAK" 2>&1 | tee "out/soak-$SOAK.log"
rc=${PIPESTATUS[0]}
exit "$rc"
