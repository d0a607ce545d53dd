#!/usr/bin/env bash
# bench-register.sh: REGISTER with digest auth, hushbox against Kamailio 5.6
# (Debian) configured as an auth registrar without a database
# (scripts/bench/kamailio.cfg), same machine, same run, same sipp scenario
# (pbx/interop/testdata/register.xml: REGISTER, 401, REGISTER with MD5
# credentials, 200).
#
# Each run starts both servers side by side (the idle one costs nothing)
# and first makes both prove that they authenticate: the right password
# registers (register.xml) and a wrong one is refused (register_wrong.xml:
# 401, then 401 or 403). A server that fails this check aborts the
# benchmark.
#
# The ramp: for each rate of RATES (registrations per second) one sipp run
# of STEP seconds (RATE*STEP registrations, bounded by sipp's -timeout)
# against each server, one after the other, so both meet the same machine
# conditions. A step HOLDS the rate when sipp reports zero failed calls
# (and exits 0) AND the achieved rate, successful registrations over sipp's
# own start-to-end time (the tail of the last calls included), is at least
# 95% of the target. A step that does not hold is tried once more (RETRIES)
# after a pause, so one hiccup does not end a ramp; a server leaves the
# ramp at its first rate that still does not hold. The whole thing is
# repeated RUNS times (the order of the two servers alternates between
# runs); BUDGET bounds the total time.
#
# Output: one "step ..." line per sipp run (with cpu_s_per_1000: CPU
# seconds of the server, all its processes, per 1000 registrations), then
# per run the highest rate
# each server holds and "run N: ratio register_vs_kamailio R", hushbox's
# peak RSS (VmHWM of each run's daemon), and final lines with the medians
# over the runs:
#   register_max_rate hushbox N/s
#   register_max_rate kamailio N/s
#   hushbox_peak_rss_kb N
#   ratio register_vs_kamailio R
#
# Environment: HUSHBOX (binary, default bin/hushbox), RATES, STEP (seconds),
# RUNS, RETRIES, BUDGET (seconds for all ramps: past it no new step starts),
# NICE (command prefix for sipp and both servers, e.g. "nice -n -10"), OUT
# (work folder, default a temp dir). Needs sipp, kamailio and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

HUSHBOX="${HUSHBOX:-$ROOT/bin/hushbox}"
RATES="${RATES:-1000 2000 3000 3500 4000 5000 6000 7000 8000 10000 12000}"
STEP="${STEP:-3}"
RUNS="${RUNS:-3}"
RETRIES="${RETRIES:-1}"
BUDGET="${BUDGET:-540}"
# NICE: optional command prefix for sipp and both servers, e.g. "nice -n -10"
# on a machine shared with other work (same for both servers).
NICE="${NICE:-}"
SCEN="$ROOT/pbx/interop/testdata/register.xml"
SCEN_WRONG="$ROOT/pbx/interop/testdata/register_wrong.xml"
USER_NAME=9001
PASSWORD=bench-secret-pw
REALM=bench.test
OUT="${OUT:-$(mktemp -d /tmp/hushbox-bench.XXXXXX)}"
mkdir -p "$OUT"

for tool in sipp kamailio python3; do
	command -v "$tool" >/dev/null || { echo "bench-register: $tool not found" >&2; exit 1; }
done
[ -x "$HUSHBOX" ] || { echo "bench-register: $HUSHBOX missing (make build)" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. "$ROOT/scripts/bench/lib.sh"

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

START_TS=$(date +%s)
over_budget() { [ $(( $(date +%s) - START_TS )) -ge "$BUDGET" ]; }

# wait_log FILE TEXT PID: wait until FILE holds TEXT while PID lives (bounded).
wait_log() {
	local i
	for i in $(seq 1 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# auth_check NAME PORT: the right password registers, a wrong one does not.
auth_check() {
	local name=$1 port=$2 dir="$OUT/$1-auth-$RUN"
	mkdir -p "$dir"
	(cd "$dir" && timeout 30 sipp -sf "$SCEN" -i 127.0.0.1 -p "$(free_port)" -nostdin -m 1 \
		-s "$USER_NAME" -au "$USER_NAME" -ap "$PASSWORD" -timeout 10s -timeout_error -trace_msg \
		127.0.0.1:"$port" >right.out 2>&1) ||
		{ echo "bench-register: $name does not accept the right password (see $dir)" >&2; return 1; }
	(cd "$dir" && timeout 30 sipp -sf "$SCEN_WRONG" -i 127.0.0.1 -p "$(free_port)" -nostdin -m 1 \
		-s "$USER_NAME" -au "$USER_NAME" -ap "wrong-$PASSWORD" -timeout 10s -timeout_error -trace_msg \
		127.0.0.1:"$port" >wrong.out 2>&1) ||
		{ echo "bench-register: $name does not refuse a wrong password (see $dir)" >&2; return 1; }
	echo "  $name: right password 200, wrong password refused" >&2
}

# step NAME PORT RATE TRY: one sipp run at RATE for STEP seconds; status 0
# when the rate holds (zero failed calls, sipp exit 0, achieved >= 95%).
step() {
	local name=$1 port=$2 rate=$3 try=$4 calls=$(( $3 * STEP ))
	local dir="$OUT/run$RUN-$name-$rate-$try" rc=0
	mkdir -p "$dir"
	# One sipp port per server and run: every step re-registers the same
	# contact, so each server holds one binding, as for one busy phone.
	local lport=$HB_SIPP_PORT spid=$HB_PID cpu0 cpu1
	[ "$name" = hushbox ] || { lport=$KAM_SIPP_PORT; spid=$KAM_PID; }
	cpu0=$(tree_cpu "$spid")
	(cd "$dir" && $NICE sipp -sf "$SCEN" -i 127.0.0.1 -p "$lport" -nostdin \
		-s "$USER_NAME" -au "$USER_NAME" -ap "$PASSWORD" \
		-r "$rate" -m "$calls" -l $(( rate * 2 + 100 )) \
		-timeout $(( STEP * 3 + 10 ))s -timeout_error \
		-trace_err -error_file errors.log \
		127.0.0.1:"$port" >sipp.out 2>&1) || rc=$?
	cpu1=$(tree_cpu "$spid")
	local ok failed achieved verdict=ok cpu1k
	read -r ok failed achieved < <(sipp_stats "$dir/sipp.out")
	if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$achieved" -lt $(( rate * 95 / 100 )) ]; then
		verdict=FAIL
	fi
	# CPU seconds of the server (all its processes) per 1000 registrations.
	cpu1k=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$ok" 'BEGIN { if (n > 0) printf "%.3f", (b - a) * 1000 / n; else print "n/a" }')
	echo "step run=$RUN server=$name target=$rate try=$try achieved=$achieved successful=$ok failed=$failed sipp_exit=$rc cpu_s_per_1000=$cpu1k $verdict"
	[ "$verdict" = ok ]
}

# start_hushbox: fresh daemon with the bench user; sets HB_PORT, HB_PID.
start_hushbox() {
	local data="$OUT/hushbox-data-$RUN-$RANDOM"
	HB_PORT=$(free_port)
	mkdir -p "$data"
	rm -f "$OUT/hushbox-$RUN.log"
	$NICE "$HUSHBOX" serve --data "$data" --sip 127.0.0.1:"$HB_PORT" --sip-tls "" \
		--rtp-ports 40000-40099 --realm "$REALM" --digest MD5 --log-level error \
		--media-ip 127.0.0.1 >"$OUT/hushbox-$RUN.log" 2>&1 &
	HB_PID=$!
	pids+=("$HB_PID")
	wait_log "$OUT/hushbox-$RUN.log" "hushbox: ready" "$HB_PID" ||
		{ echo "hushbox did not start:" >&2; cat "$OUT/hushbox-$RUN.log" >&2; exit 1; }
	# Added through the running daemon, so the digest realm is --realm's.
	"$HUSHBOX" ext add "$USER_NAME" --password "$PASSWORD" --data "$data" >/dev/null
}

# start_kamailio: fresh Kamailio (same user, password and realm, usrloc in
# memory, one UDP worker per core); sets KAM_PORT, KAM_PID.
start_kamailio() {
	local modules run="$OUT/kamailio-run-$RUN-$RANDOM"
	KAM_PORT=$(free_port)
	modules=$(dirname "$(find /usr/lib -path '*kamailio/modules/registrar.so' 2>/dev/null | head -1)")
	sed -e "s/BENCH_USER/$USER_NAME/; s/BENCH_PASSWORD/$PASSWORD/; s/BENCH_REALM/$REALM/g" \
		"$ROOT/scripts/bench/kamailio.cfg" >"$OUT/kamailio.cfg"
	mkdir -p "$run"
	rm -f "$OUT/kamailio-$RUN.log"
	$NICE kamailio -f "$OUT/kamailio.cfg" -L "$modules" -l udp:127.0.0.1:"$KAM_PORT" \
		-n "$(nproc)" -DD -E -Y "$run" -m 128 -M 16 >"$OUT/kamailio-$RUN.log" 2>&1 &
	KAM_PID=$!
	pids+=("$KAM_PID")
	wait_log "$OUT/kamailio-$RUN.log" "^Aliases:" "$KAM_PID" && sleep 0.5 && kill -0 "$KAM_PID" ||
		{ echo "kamailio did not start:" >&2; cat "$OUT/kamailio-$RUN.log" >&2; exit 1; }
}

# hold NAME PORT RATE: status 0 when the rate holds within 1+RETRIES tries
# (a pause before a retry lets retransmissions and queues drain).
hold() {
	local try
	for try in $(seq 0 "$RETRIES"); do
		step "$1" "$2" "$3" "$try" && return 0
		sleep 2
	done
	return 1
}

# run_once: one ramp. For every rate both servers are started afresh side by
# side (the idle one costs nothing), then the rate is offered to each, one
# after the other (the order alternates between runs), so both meet the
# same machine conditions. Fresh servers per rate keep the steps
# independent: hushbox refuses every new nonce once 65536 nonces have
# authenticated within its 5-minute nonce lifetime (its replay table fails
# closed), which a ramp run against one daemon reaches after a few steps.
# The first start of each run checks that both really authenticate. A
# server leaves the ramp at its first rate that does not hold. Sets
# HB_BEST, KAM_BEST and HB_HWM_KB (the largest VmHWM over the run's
# hushbox daemons).
run_once() {
	local order="hushbox kamailio" hb_on=1 kam_on=1 r name first=1 hwm
	[ $(( RUN % 2 )) -eq 1 ] || order="kamailio hushbox"
	HB_BEST=0 KAM_BEST=0 HB_HWM_KB=0
	for r in $RATES; do
		[ "$hb_on$kam_on" != 00 ] || break
		if over_budget; then
			echo "  run $RUN: time budget of ${BUDGET}s spent, ramp stopped before $r/s" >&2
			break
		fi
		start_hushbox
		start_kamailio
		HB_SIPP_PORT=$(free_port)
		KAM_SIPP_PORT=$(free_port)
		if [ "$first" = 1 ]; then
			auth_check hushbox "$HB_PORT" || exit 1
			auth_check kamailio "$KAM_PORT" || exit 1
			first=0
		fi
		for name in $order; do
			if [ "$name" = hushbox ] && [ "$hb_on" = 1 ]; then
				if hold hushbox "$HB_PORT" "$r"; then HB_BEST=$r; else hb_on=0; fi
			elif [ "$name" = kamailio ] && [ "$kam_on" = 1 ]; then
				if hold kamailio "$KAM_PORT" "$r"; then KAM_BEST=$r; else kam_on=0; fi
			fi
		done
		hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/"$HB_PID"/status)
		[ "$hwm" -le "$HB_HWM_KB" ] || HB_HWM_KB=$hwm
		kill "$HB_PID" "$KAM_PID"
		wait "$HB_PID" "$KAM_PID" 2>/dev/null || true
	done
}

echo "bench-register: work folder $OUT; $RUNS runs, steps of ${STEP}s at $RATES registrations/s" >&2
HB_ALL=() KAM_ALL=() HWM_ALL=()
for RUN in $(seq 1 "$RUNS"); do
	run_once
	HB_ALL+=("$HB_BEST") KAM_ALL+=("$KAM_BEST") HWM_ALL+=("$HB_HWM_KB")
	echo "run $RUN: register_max_rate hushbox ${HB_BEST}/s kamailio ${KAM_BEST}/s hushbox_peak_rss_kb $HB_HWM_KB"
	awk -v r="$RUN" -v h="$HB_BEST" -v k="$KAM_BEST" 'BEGIN { if (k > 0) printf "run %d: ratio register_vs_kamailio %.2f\n", r, h / k; else printf "run %d: ratio register_vs_kamailio n/a\n", r }'
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
HB_MED=$(median "${HB_ALL[@]}")
KAM_MED=$(median "${KAM_ALL[@]}")
HWM_MAX=$(printf '%s\n' "${HWM_ALL[@]}" | sort -n | tail -1)
echo "register_max_rate hushbox ${HB_MED}/s (median of ${HB_ALL[*]})"
echo "register_max_rate kamailio ${KAM_MED}/s (median of ${KAM_ALL[*]})"
echo "hushbox_peak_rss_kb ${HWM_MAX} (max of ${HWM_ALL[*]})"
awk -v h="$HB_MED" -v k="$KAM_MED" 'BEGIN { if (k > 0) printf "ratio register_vs_kamailio %.2f\n", h / k; else print "ratio register_vs_kamailio n/a" }'
