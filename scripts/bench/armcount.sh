#!/usr/bin/env bash
# armcount.sh: count the ARMv7 instructions one call of a Go function
# executes, per call and per function, by single-stepping an ARMv7 test
# binary under qemu-arm-static (docs/benchmarks.md, "Scrambler on ARMv7").
# Too slow for `make bench` (tens of seconds to minutes per run); run by hand.
#
# Usage:
#   scripts/bench/armcount.sh PKG BENCH ENTRY CALLER [N]
#
#   PKG     the Go package of the benchmark, e.g. ./crypto/scramble
#   BENCH   the -test.bench pattern, e.g. 'BenchmarkScramble/N=160$'
#   ENTRY   the function counted (full symbol, as `go tool nm` prints it),
#           e.g. 'hushbox/crypto/scramble.(*Scrambler).Scramble'
#   CALLER  the function that calls ENTRY (full symbol); a call's window
#           ends at the first instruction executed in CALLER after ENTRY's
#           first instruction, on the thread running the call's goroutine
#   N       benchmark iterations (-test.benchtime Nx), default 6
#
# Environment: ROOT (module to build from, default this repository; e.g. a
# `git archive` of an older commit), OUT (binaries and reports, default
# /tmp/hushbox-armcount), TIMEOUT (of the qemu run, default 20m).
#
# Example (the figures in docs/benchmarks.md, 27 Nov 2026):
#   scripts/bench/armcount.sh ./crypto/scramble 'BenchmarkScramble/N=160$' \
#       'hushbox/crypto/scramble.(*Scrambler).Scramble' \
#       'hushbox/crypto/scramble.BenchmarkScramble.func1'
#
# Method: `qemu-arm-static -singlestep -d exec,nochain` logs one line per
# executed guest instruction ("Trace CPU: HOST [CS/PC/FLAGS/CFLAGS] SYMBOL",
# CPU being the emulated thread). Every instruction executed on a thread
# from ENTRY's first instruction until control is back in CALLER belongs
# to that call: the functions it calls, runtime helpers (memmove,
# sync.Pool, runtime.udiv) included; the Go runtime's other threads
# (sysmon, GC workers) and the benchmark's set-up are outside every window.
# Runs with GODEBUG=asyncpreemptoff=1 (a single-stepped call lasts long
# enough for sysmon to preempt it, which a real core never sees) and
# GOGC=off (no GC cycle lands in a window). The first call is reported
# apart (it fills sync.Pools: one-time allocations) and left out of the
# mean.
#
# Output: per-call instruction counts (first, mean of the rest, min, max),
# the mean per call by function and by category. The run holds
# /tmp/hushbox-heavy.lock and is killed after TIMEOUT (default 20m).
set -euo pipefail

if [ $# -lt 4 ]; then
	sed -n '2,26p' "$0" >&2
	exit 2
fi
pkg=$1 bench=$2 entry=$3 caller=$4 n=${5:-6}
timeout=${TIMEOUT:-20m}
out=${OUT:-/tmp/hushbox-armcount}
root=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}

command -v qemu-arm-static >/dev/null || { echo "armcount: qemu-arm-static missing (apt-get install qemu-user-static)" >&2; exit 1; }
mkdir -p "$out"
bin="$out/$(basename "$pkg")-arm.test"
(cd "$root" && GOARCH=arm GOARM=7 go test -c -o "$bin" "$pkg")

# ENTRY's address, as qemu prints a PC: 8 hex digits.
addr=$(go tool nm -sort address "$bin" | awk -v f="$entry" '$3 == f && $2 == "T" && !done { print $1; done = 1 }')
[ -n "$addr" ] || { echo "armcount: $entry not in $bin (inlined?)" >&2; exit 1; }
addr=$(printf '%08x' "0x$addr")
go tool nm -sort address "$bin" | awk -v f="$caller" '$3 == f { found = 1 } END { exit !found }' ||
	{ echo "armcount: $caller not in $bin" >&2; exit 1; }

echo "armcount: $pkg $bench, ${n}x, window $entry ($addr) -> $caller" >&2
flock /tmp/hushbox-heavy.lock \
	env GODEBUG=asyncpreemptoff=1 GOGC=off \
	timeout "$timeout" qemu-arm-static -singlestep -d exec,nochain -D /dev/stdout \
	"$bin" -test.run '^$' -test.bench "$bench" -test.benchtime "${n}x" |
	mawk -v entry="$addr" -v caller="$caller" '
	function category(f) {
		if (f ~ /g711/) return "G.711"
		if (f ~ /pbx\/media|pion\/rtp/) return "relay (pbx/media, pion/rtp)"
		if (f ~ /x\/sys\/unix|^syscall\./) return "system-call wrappers"
		if (f ~ /chacha20|poly1305|aes|keystream|cipher|subtle|fips140/) return "keystream (ChaCha20; AES before version 3)"
		if (f ~ /mix|rotate|permute/) return "mixing"
		if (f ~ /forward|inverse|fft|radix/) return "transforms (DCT by FFT)"
		if (f ~ /^runtime\.|^sync\.|^internal\//) return "runtime helpers (in window)"
		return "glue (Scramble, checks, pool, hook)"
	}
	$1 == "Trace" {
		split($4, a, "/"); pc = a[2]; cpu = $2; f = ($5 == "" ? "?" : $5)
		total++
		if (!inwin) {
			if (pc != entry) next
			inwin = 1; owner = cpu; calls++
		}
		if (susp) {
			# Parked in the scheduler: wait for the goroutine to run
			# its own code again, on whichever thread it resumes.
			if (f ~ /^(runtime\.|internal\/runtime\/|gogo$|setg$|arm[A-Z]|sync\.runtime_)/) {
				if (cpu == owner) parked++
				next
			}
			susp = 0; owner = cpu
		}
		if (cpu != owner) next
		if (f == caller) { inwin = 0; next }
		if (f ~ /^runtime\.morestack/) { susp = 1; stops++; parked++; next }
		count[calls]++
		if (calls > 1) byfn[f]++
	}
	END {
		printf "lines logged (all threads, set-up and runtime included): %d\n", total
		printf "calls of the entry: %d\n", calls
		printf "left out: %d stack checks that went to the scheduler (preemption by sysmon of the slow emulated run, or stack growth), %d instructions on that thread until the goroutine ran again\n", stops, parked
		if (calls < 2) { print "need at least 2 calls"; exit 1 }
		printf "first call: %d instructions\n", count[1]
		min = -1
		for (c = 2; c <= calls; c++) { s += count[c]; if (min < 0 || count[c] < min) min = count[c]; if (count[c] > max) max = count[c] }
		m = calls - 1
		printf "calls 2..%d: mean %.0f, min %d, max %d instructions per call\n", calls, s / m, min, max
		print "\nper call, by function (mean of calls 2..N):"
		for (f in byfn) { printf "  %10.0f  %s\n", byfn[f] / m, f | "sort -rn"; cat[category(f)] += byfn[f] }
		close("sort -rn")
		print "\nper call, by category:"
		for (k in cat) printf "  %10.0f  %5.1f %%  %s\n", cat[k] / m, 100 * cat[k] / s, k | "sort -rn"
		close("sort -rn")
	}' | tee "$out/$(basename "$pkg")-$(echo "$bench" | tr -c 'A-Za-z0-9=\n' _).txt"
