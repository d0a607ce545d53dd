#!/usr/bin/env bash
# fuzz.sh runs every fuzz target (func FuzzXxx) of every package for a bounded
# time each (FUZZTIME, default 20s). Go can fuzz one target at a time only,
# hence the loop. Exits non-zero on the first target that finds a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-20s}"
count=0
for pkg in $("$GO" list ./...); do
	targets="$("$GO" test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)"
	for t in $targets; do
		echo "== fuzz $pkg $t ($FUZZTIME)"
		"$GO" test -run '^$' -fuzz "^${t}\$" -fuzztime "$FUZZTIME" "$pkg"
		count=$((count + 1))
	done
done
echo "fuzz: $count targets, $FUZZTIME each"
