#!/usr/bin/env bash
# run.sh: every comparison of issue 8 in one run on this machine, both
# sides measured in the same run (docs/benchmarks.md). MODE=quick (make
# bench-quick, under 5 minutes) or MODE=full (make bench).
#
#   registrar    sipp REGISTER+digest, rising rate, hushbox vs Kamailio 5.6
#                (scripts/bench-register.sh)
#   callsetup    sipp INVITE/407/INVITE/200/ACK/BYE, rising calls/s, hushbox
#                (B2BUA) vs Kamailio (stateful proxy, record-route, auth),
#                a sipp UAS behind either
#   relay        N concurrent G.711 calls (rtpbench): hushbox's relay
#                (pbx/media in its own process) vs rtpengine userspace
#                (--table=-1), then hushbox with scrambling and with SRTP
#   scramble     ns per 20 ms frame on amd64 (Go benchmark)
#   memory       RSS idle and with 100 calls (RTP through the relay), amd64
#                and ARMv7 under qemu-arm-static, Kamailio+rtpengine idle
#
# The last lines are "ratio NAME VALUE" (hushbox / baseline, higher is
# better). Environment: MODE, OUT (work folder), HUSHBOX (amd64 binary,
# default bin/hushbox), HUSHBOX_ARM (default bin/hushbox-linux-armv7-pure,
# built when missing), SECTIONS (default "registrar callsetup relay scramble
# memory"), NICE (prefix for every server and load tool alike).
# Needs sipp, kamailio, rtpengine (Debian rtpengine-daemon), python3, go;
# qemu-arm-static for the ARMv7 memory figures (skipped without it).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
# shellcheck source=lib.sh
. "$ROOT/scripts/bench/lib.sh"

MODE="${MODE:-quick}"
OUT="${OUT:-$(mktemp -d /tmp/hushbox-benchrun.XXXXXX)}"
HUSHBOX="${HUSHBOX:-$ROOT/bin/hushbox}"
HUSHBOX_ARM="${HUSHBOX_ARM:-$ROOT/bin/hushbox-linux-armv7-pure}"
SECTIONS="${SECTIONS:-registrar callsetup relay scramble memory}"
NICE="${NICE:-}"
PW=bench-secret-pw
REALM=bench.test
mkdir -p "$OUT"
export PATH="/usr/local/go/bin:$PATH"

if [ "$MODE" = quick ]; then
	REG_ENV=(RUNS=1 STEP=2 RETRIES=0 BUDGET=75 "RATES=1000 2000 3000 4000 5000 6000 8000")
	CS_RATES="${CS_RATES:-50 100 200 300 400}" CS_STEP=3
	RELAY_CALLS="${RELAY_CALLS:-100 400}" RELAY_WINDOW=3s
else
	REG_ENV=(RUNS=3)
	CS_RATES="${CS_RATES:-50 100 200 300 400 500 600 800 1000}" CS_STEP=5
	RELAY_CALLS="${RELAY_CALLS:-50 100 200 400 600 800 1000}" RELAY_WINDOW=5s
fi

for tool in sipp kamailio rtpengine python3 go; do
	command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 1; }
done
[ -x "$HUSHBOX" ] || { echo "bench: $HUSHBOX missing (make build)" >&2; exit 1; }

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
RATIOS=()
add_ratio() { RATIOS+=("ratio $1 $2"); echo "ratio $1 $2"; }

# wait_log FILE TEXT PID: wait until FILE holds TEXT while PID lives (bounded).
wait_log() {
	local i
	for i in $(seq 1 150); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

machine() {
	echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), nproc $(nproc), $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
	echo "machine: load average at start $(cut -d' ' -f1-3 /proc/loadavg); $(go version | cut -d' ' -f3); sipp $(sipp -v 2>&1 | grep -o 'v[0-9.]*' | head -1); $(kamailio -v 2>&1 | head -1 | cut -d' ' -f1-3); rtpengine $(rtpengine --version 2>&1 | awk '{ print $2 }')"
}

# start_hushbox BIN PREFIX: fresh daemon, extensions 9001 and 9002; sets
# HB_PORT and HB_PID (of PREFIX BIN, e.g. qemu-arm-static).
start_hushbox() {
	local bin=$1 prefix=${2:-} data="$OUT/hb-data-$RANDOM"
	HB_PORT=$(free_port)
	mkdir -p "$data"
	local log="$data.log"
	# shellcheck disable=SC2086
	$NICE $prefix "$bin" serve --data "$data" --sip 127.0.0.1:"$HB_PORT" --sip-tls "" \
		--rtp-ports 40000-47999 --realm "$REALM" --digest MD5 --log-level error \
		--media-ip 127.0.0.1 >"$log" 2>&1 &
	HB_PID=$!
	pids+=("$HB_PID")
	wait_log "$log" "hushbox: ready" "$HB_PID" ||
		{ echo "bench: hushbox did not start:" >&2; cat "$log" >&2; return 1; }
	# shellcheck disable=SC2086
	$prefix "$bin" ext add 9001 --password "$PW" --data "$data" >/dev/null
	# shellcheck disable=SC2086
	$prefix "$bin" ext add 9002 --password "$PW" --data "$data" >/dev/null
}

# start_kamailio CFG: Kamailio with CFG (users 9001, 9002); sets KAM_PORT, KAM_PID.
start_kamailio() {
	local modules run="$OUT/kam-run-$RANDOM"
	KAM_PORT=$(free_port)
	modules=$(dirname "$(find /usr/lib -path '*kamailio/modules/registrar.so' 2>/dev/null | head -1)")
	sed -e "s/BENCH_USER1/9001/; s/BENCH_USER2/9002/; s/BENCH_PASSWORD/$PW/; s/BENCH_REALM/$REALM/g" \
		"$1" >"$run.cfg"
	mkdir -p "$run"
	$NICE kamailio -f "$run.cfg" -L "$modules" -l udp:127.0.0.1:"$KAM_PORT" \
		-n "$(nproc)" -DD -E -Y "$run" -m 128 -M 16 >"$run.log" 2>&1 &
	KAM_PID=$!
	pids+=("$KAM_PID")
	wait_log "$run.log" "^Aliases:" "$KAM_PID" && sleep 0.5 && kill -0 "$KAM_PID" ||
		{ echo "bench: kamailio did not start:" >&2; cat "$run.log" >&2; return 1; }
}

# start_uas SERVER_PORT DIR [ECHO]: registers 9002 from a fresh port, then
# runs the callee there; sets UAS_PID.
start_uas() {
	local port=$1 dir=$2 up mp
	up=$(free_port) mp=$(free_port)
	mkdir -p "$dir"
	(cd "$dir" && timeout 20 sipp -sf "$ROOT/pbx/interop/testdata/register.xml" -i 127.0.0.1 -p "$up" -nostdin -m 1 \
		-s 9002 -au 9002 -ap "$PW" -timeout 10s -timeout_error 127.0.0.1:"$port" >register.out 2>&1) ||
		{ echo "bench: callee registration failed (see $dir)" >&2; return 1; }
	# shellcheck disable=SC2086
	(cd "$dir" && exec $NICE sipp -sf "$ROOT/scripts/bench/callsetup_uas.xml" -i 127.0.0.1 -p "$up" -mp "$mp" \
		-nostdin ${3:-} -l 100000 -trace_err -error_file uas-errors.log >uas.out 2>&1) &
	UAS_PID=$!
	pids+=("$UAS_PID")
	sleep 0.5
}

stop() { kill "$@" 2>/dev/null || true; wait "$@" 2>/dev/null || true; }

# cs_step NAME PORT RATE: one sipp caller run; prints a step line, status 0
# when it holds (zero failed, sipp exit 0, achieved >= 95%).
cs_step() {
	local name=$1 port=$2 rate=$3 spid=$4 dir="$OUT/cs-$1-$3" rc=0 cpu0 cpu1
	mkdir -p "$dir"
	cpu0=$(tree_cpu "$spid")
	(cd "$dir" && $NICE sipp -sf "$ROOT/scripts/bench/callsetup_uac.xml" -i 127.0.0.1 -p "$(free_port)" -nostdin \
		-s 9002 -key caller 9001 -au 9001 -ap "$PW" -d 0 -r "$rate" -m $(( rate * CS_STEP )) -l $(( rate * 4 + 100 )) \
		-timeout $(( CS_STEP * 3 + 10 ))s -timeout_error -trace_err -error_file errors.log \
		127.0.0.1:"$port" >sipp.out 2>&1) || rc=$?
	cpu1=$(tree_cpu "$spid")
	local ok failed achieved verdict=ok
	read -r ok failed achieved < <(sipp_stats "$dir/sipp.out")
	if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$achieved" -lt $(( rate * 95 / 100 )) ]; then verdict=FAIL; fi
	echo "callsetup server=$name target=$rate achieved=$achieved successful=$ok failed=$failed sipp_exit=$rc cpu_s_per_1000=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$ok" 'BEGIN { if (n > 0) printf "%.3f", (b - a) * 1000 / n; else print "n/a" }') $verdict"
	[ "$verdict" = ok ]
}

section_registrar() {
	echo "== registrar: REGISTER with digest auth, hushbox vs Kamailio"
	local out="$OUT/register.txt"
	env "${REG_ENV[@]}" HUSHBOX="$HUSHBOX" NICE="$NICE" OUT="$OUT/register" "$ROOT/scripts/bench-register.sh" | tee "$out"
	local r; r=$(awk '$1 == "ratio" && $2 == "register_vs_kamailio" { v = $3 } END { print v }' "$out")
	add_ratio register_vs_kamailio "${r:-n/a}"
	# CPU per registration at the first rate of the ramp, where both
	# servers keep up: the measure least moved by other load on the machine.
	local hc kc
	hc=$(awk '$1 == "step" && $3 == "server=hushbox" { for (i = 1; i <= NF; i++) if ($i ~ /^cpu_s_per_1000=/) { split($i, a, "="); print a[2]; exit } }' "$out")
	kc=$(awk '$1 == "step" && $3 == "server=kamailio" { for (i = 1; i <= NF; i++) if ($i ~ /^cpu_s_per_1000=/) { split($i, a, "="); print a[2]; exit } }' "$out")
	echo "register_cpu_s_per_1000 hushbox ${hc:-n/a} kamailio ${kc:-n/a} (first step of the ramp)"
	add_ratio register_cpu_vs_kamailio "$(ratio "$kc" "$hc")"
}

section_callsetup() {
	echo "== callsetup: INVITE/auth/200/ACK/BYE, hushbox (B2BUA) vs Kamailio (stateful proxy)"
	local hb_best=0 kam_best=0 hb_on=1 kam_on=1 r
	: >"$OUT/callsetup.txt"
	start_hushbox "$HUSHBOX"
	start_uas "$HB_PORT" "$OUT/cs-hb-uas"
	local hb_uas=$UAS_PID
	start_kamailio "$ROOT/scripts/bench/kamailio-proxy.cfg"
	start_uas "$KAM_PORT" "$OUT/cs-kam-uas"
	local kam_uas=$UAS_PID
	for r in $CS_RATES; do
		[ "$hb_on$kam_on" != 00 ] || break
		if [ "$hb_on" = 1 ]; then
			if cs_step hushbox "$HB_PORT" "$r" "$HB_PID" | tee -a "$OUT/callsetup.txt"; then hb_best=$r; else hb_on=0; fi
		fi
		if [ "$kam_on" = 1 ]; then
			if cs_step kamailio "$KAM_PORT" "$r" "$KAM_PID" | tee -a "$OUT/callsetup.txt"; then kam_best=$r; else kam_on=0; fi
		fi
		sleep 1
	done
	echo "callsetup_max_rate hushbox ${hb_best}/s kamailio ${kam_best}/s (highest step with zero failed calls; top of the ramp ${CS_RATES##* }/s)"
	stop "$hb_uas" "$kam_uas" "$HB_PID" "$KAM_PID"
	add_ratio callsetup_vs_kamailio "$(ratio "$hb_best" "$kam_best")"
	local hc kc
	hc=$(awk '$1 == "callsetup" && $2 == "server=hushbox" { split($8, a, "="); print a[2]; exit }' "$OUT/callsetup.txt")
	kc=$(awk '$1 == "callsetup" && $2 == "server=kamailio" { split($8, a, "="); print a[2]; exit }' "$OUT/callsetup.txt")
	echo "callsetup_cpu_s_per_1000 hushbox ${hc:-n/a} kamailio ${kc:-n/a} (first step of the ramp)"
	add_ratio callsetup_cpu_vs_kamailio "$(ratio "$kc" "$hc")"
}

# relay_step ARGS...: one rtpbench load line (stderr to the log).
relay_step() { $NICE "$OUT/rtpbench" load -window "$RELAY_WINDOW" "$@" 2>>"$OUT/rtpbench.log" || echo "relay FAILED $*"; }

section_relay() {
	echo "== relay: concurrent G.711 calls through hushbox's relay vs rtpengine userspace"
	go build -o "$OUT/rtpbench" "$ROOT/scripts/bench/rtpbench"
	local ng; ng=$(free_port)
	$NICE rtpengine --config-file=none --table=-1 --interface=127.0.0.1 --listen-ng=127.0.0.1:"$ng" \
		--port-min=20000 --port-max=29999 --foreground --log-stderr --log-level=3 >"$OUT/rtpengine.log" 2>&1 &
	local rpid=$!
	pids+=("$rpid")
	sleep 1
	kill -0 "$rpid" || { echo "bench: rtpengine did not start:" >&2; cat "$OUT/rtpengine.log" >&2; return 1; }
	local n lines="$OUT/relay.txt"
	: >"$lines"
	for n in $RELAY_CALLS; do
		{
			relay_step -target direct -calls "$n"
			relay_step -target rtpengine -calls "$n" -ng 127.0.0.1:"$ng" -pid "$rpid"
			relay_step -target hushbox -calls "$n"
			relay_step -target hushbox -calls "$n" -scramble
			relay_step -target hushbox -calls "$n" -srtp
		} | tee -a "$lines"
	done
	stop "$rpid"
	# Ratios at the largest call count every variant carried at < 0.1% loss.
	local best="" v
	for n in $RELAY_CALLS; do
		v=$(awk -v n="$n" '$1 == "relay" && $4 == "calls=" n { split($7, a, "="); if (a[2] + 0 >= 0.1) bad = 1; c++ } END { print (c == 5 && !bad) ? "ok" : "no" }' "$lines")
		[ "$v" = ok ] && best=$n
	done
	if [ -z "$best" ]; then
		echo "relay: no call count held < 0.1% loss for every variant"
		add_ratio relay_vs_rtpengine n/a; add_ratio relay_scrambled_vs_plain n/a; add_ratio relay_srtp_vs_plain n/a
		return 0
	fi
	get() { grep "target=$1 mode=$2 calls=$best " "$lines" | head -1; }
	local d e h s p
	d=$(get direct plain) e=$(get rtpengine plain) h=$(get hushbox plain) s=$(get hushbox scramble) p=$(get hushbox srtp)
	echo "relay at $best calls ($(( best * 100 )) packets/s offered), latency added over the direct loopback path (p50/p99 us):"
	local x
	for x in "rtpengine:$e" "hushbox:$h" "hushbox+scramble:$s" "hushbox+srtp:$p"; do
		local line=${x#*:}
		awk -v name="${x%%:*}" -v d50="$(kv "$d" p50_us)" -v d99="$(kv "$d" p99_us)" -v dj="$(kv "$d" jitter_us)" \
			-v p50="$(kv "$line" p50_us)" -v p99="$(kv "$line" p99_us)" -v j="$(kv "$line" jitter_us)" \
			-v ppc="$(kv "$line" pps_per_core)" -v loss="$(kv "$line" loss_pct)" \
			'BEGIN { printf "relay_result %s pps_per_core=%s loss_pct=%s added_p50_us=%.0f added_p99_us=%.0f added_jitter_us=%.1f\n", name, ppc, loss, p50 - d50, p99 - d99, j - dj }'
	done
	# The ratios: per call count where both sides lost < 0.1%, the ratio of
	# packets per CPU second; the median over the call counts (one count
	# is noisy on a shared machine).
	add_ratio relay_vs_rtpengine "$(relay_ratio "$lines" hushbox/plain rtpengine/plain)"
	add_ratio relay_scrambled_vs_plain "$(relay_ratio "$lines" hushbox/scramble hushbox/plain)"
	add_ratio relay_srtp_vs_plain "$(relay_ratio "$lines" hushbox/srtp hushbox/plain)"
}

# relay_ratio FILE A B: median over call counts of pps_per_core(A) /
# pps_per_core(B), A and B as TARGET/MODE, counts where both lost < 0.1%.
relay_ratio() {
	awk -v A="$2" -v B="$3" '
		$1 == "relay" {
			delete v
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			k = v["target"] "/" v["mode"]
			if (v["loss_pct"] + 0 < 0.1 && v["pps_per_core"] + 0 > 0) ppc[v["calls"], k] = v["pps_per_core"]
			n[v["calls"]] = 1
		}
		END {
			for (c in n) if (((c, A) in ppc) && ((c, B) in ppc)) r[++m] = ppc[c, A] / ppc[c, B]
			if (m == 0) { print "n/a"; exit }
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
			printf "%.2f\n", (m % 2) ? r[(m + 1) / 2] : (r[m / 2] + r[m / 2 + 1]) / 2
		}' "$1"
}

section_scramble() {
	echo "== scramble: ns per 20 ms frame (160 samples) on amd64"
	local bt=2000x
	[ "$MODE" = quick ] || bt=20000x
	go test -run '^$' -bench 'Benchmark(Scramble|Descramble)/N=160$' -benchtime "$bt" -count 3 "$ROOT/crypto/scramble" | tee "$OUT/scramble.txt" | grep -E '^Benchmark'
	local ns
	ns=$(awk '/^BenchmarkScramble\/N=160/ { for (i = 1; i <= NF; i++) if ($(i+1) == "ns/op") print $i }' "$OUT/scramble.txt" |
		sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	echo "scramble_ns_per_frame_amd64 $ns (median of 3)"
}

# mem_calls BIN PREFIX LABEL: idle RSS and RSS holding 100 calls with RTP.
mem_calls() {
	local bin=$1 prefix=$2 label=$3 idle busy dir="$OUT/mem-$3"
	start_hushbox "$bin" "$prefix" || return 1
	sleep 2
	idle=$(status_kb /proc/"$HB_PID"/status VmRSS)
	start_uas "$HB_PORT" "$dir" -rtp_echo || { stop "$HB_PID"; return 1; }
	(cd "$dir" && $NICE sipp -sf "$ROOT/scripts/bench/callhold_uac.xml" -i 127.0.0.1 -p "$(free_port)" -nostdin \
		-s 9002 -key caller 9001 -au 9001 -ap "$PW" -d 9000 -r 50 -m 100 -l 200 -mp "$(free_port)" \
		-timeout 60s -trace_err -error_file errors.log 127.0.0.1:"$HB_PORT" >sipp.out 2>&1) &
	local spid=$!
	# The largest RSS seen while the calls are up (all 100 are set up
	# within 2 s and hold for 9 s).
	local i v; busy=0
	for i in $(seq 1 16); do
		sleep 0.5
		v=$(status_kb /proc/"$HB_PID"/status VmRSS)
		[ "$v" -le "$busy" ] || busy=$v
	done
	wait "$spid" || true
	local ok failed a; read -r ok failed a < <(sipp_stats "$dir/sipp.out")
	echo "memory $label idle_rss_kb=$idle rss_100_calls_kb=$busy calls_ok=$ok calls_failed=$failed peak_kb=$(status_kb /proc/"$HB_PID"/status VmHWM)"
	stop "$UAS_PID" "$HB_PID"
	MEM_IDLE=$idle
}

section_memory() {
	echo "== memory: RSS idle and holding 100 calls with RTP through the relay"
	mem_calls "$HUSHBOX" "" amd64
	local hb_idle=$MEM_IDLE
	if command -v qemu-arm-static >/dev/null; then
		if [ ! -x "$HUSHBOX_ARM" ]; then
			CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 go build -trimpath -tags netgo,osusergo -ldflags '-s -w' \
				-o "$HUSHBOX_ARM" "$ROOT/cmd/hushbox"
		fi
		# The emulator's own RSS: qemu-arm-static running an idle Go
		# program for ARMv7 (the runtime's floor as well).
		CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 go build -o "$OUT/idle-arm" "$ROOT/scripts/bench/armidle"
		qemu-arm-static "$OUT/idle-arm" & local q=$!
		sleep 2
		local base; base=$(status_kb /proc/"$q"/status VmRSS)
		stop "$q"
		echo "memory qemu_baseline_rss_kb=$base (qemu-arm-static + an idle ARMv7 Go program)"
		mem_calls "$HUSHBOX_ARM" qemu-arm-static armv7-qemu || echo "memory armv7-qemu FAILED"
	fi
	start_kamailio "$ROOT/scripts/bench/kamailio-proxy.cfg"
	local ng; ng=$(free_port)
	rtpengine --config-file=none --table=-1 --interface=127.0.0.1 --listen-ng=127.0.0.1:"$ng" \
		--port-min=20000 --port-max=29999 --foreground --log-stderr --log-level=3 >"$OUT/rtpengine-mem.log" 2>&1 &
	local rpid=$!
	pids+=("$rpid")
	sleep 2
	local kam rtpe
	kam=$(tree_pss_kb "$KAM_PID") rtpe=$(tree_pss_kb "$rpid")
	echo "memory baseline idle kamailio_pss_kb=$kam (all $(tree_pids "$KAM_PID" | wc -l) processes) rtpengine_pss_kb=$rtpe hushbox_amd64_rss_kb=$hb_idle"
	stop "$KAM_PID" "$rpid"
	# Lower is better for memory: baseline / hushbox.
	add_ratio memory_vs_kamailio_rtpengine "$(ratio $(( kam + rtpe )) "$hb_idle")"
}

echo "bench: MODE=$MODE, work folder $OUT"
machine
T0=$(date +%s)
for s in $SECTIONS; do
	"section_$s" || echo "bench: section $s failed"
done
echo "bench: done in $(( $(date +%s) - T0 )) s"
printf '%s\n' "${RATIOS[@]}"
