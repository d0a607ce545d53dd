#!/usr/bin/env bash
# fuzz.sh runs every fuzz target (func FuzzXxx) of every package for a bounded
# time each (FUZZTIME, default 20s). Go can fuzz one target at a time only,
# hence the loop. FUZZPKG (a go list pattern, default ./...) narrows the run.
# A target that finds a failure does not stop the run: Go has written the
# failing input to the package's testdata/fuzz/FuzzXxx/, where plain
# `go test` replays it from then on (the regression test); keep that file
# and fix the bug (docs/reliability.md). The script lists every failing
# target at the end and exits non-zero if there was one.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-20s}"
FUZZPKG="${FUZZPKG:-./...}"
count=0
failed=()
for pkg in $("$GO" list $FUZZPKG); do
	targets="$("$GO" test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)"
	for t in $targets; do
		echo "== fuzz $pkg $t ($FUZZTIME)"
		if ! "$GO" test -run '^$' -fuzz "^${t}\$" -fuzztime "$FUZZTIME" "$pkg"; then
			failed+=("$pkg $t")
		fi
		count=$((count + 1))
	done
done
echo "fuzz: $count targets, $FUZZTIME each, ${#failed[@]} failed"
if [ "${#failed[@]}" -gt 0 ]; then
	printf 'fuzz: FAILED %s\n' "${failed[@]}"
	echo "fuzz: the failing inputs are in testdata/fuzz/ of those packages (git status shows them)"
	exit 1
fi
