#!/usr/bin/env bash
# bench-register.sh: REGISTER with digest auth, hushbox against Kamailio 5.6
# (Debian) configured as an auth registrar without a database
# (scripts/bench/kamailio.cfg), same machine, same run, same sipp scenario
# (pbx/interop/testdata/register.xml: REGISTER, 401, REGISTER with MD5
# credentials, 200).
#
# For each server the offered rate rises step by step (RATES, calls per
# second, STEP seconds each, one sipp run per step); a step passes when every
# registration of it succeeded (sipp exit status 0: no failed call, no
# timeout) and sipp achieved at least 85% of the offered rate over the step
# (sipp's cumulative call rate, the completion of the last calls included). Prints the highest passing rate of each, hushbox's peak RSS
# (VmHWM) and "ratio register_vs_kamailio VALUE" (hushbox / Kamailio).
#
# Environment: HUSHBOX (binary, default bin/hushbox), RATES, STEP (seconds),
# OUT (work folder, default a temp dir). Needs sipp and kamailio.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

HUSHBOX="${HUSHBOX:-$ROOT/bin/hushbox}"
RATES="${RATES:-200 400 800 1600 2400 3200 4800 6400 8000 9600}"
STEP="${STEP:-5}"
SCEN="$ROOT/pbx/interop/testdata/register.xml"
USER_NAME=9001
PASSWORD=bench-secret-pw
REALM=bench.test
OUT="${OUT:-$(mktemp -d /tmp/hushbox-bench.XXXXXX)}"
mkdir -p "$OUT"

for tool in sipp kamailio; do
	command -v "$tool" >/dev/null || { echo "bench-register: $tool not found" >&2; exit 1; }
done
[ -x "$HUSHBOX" ] || { echo "bench-register: $HUSHBOX missing (make build)" >&2; exit 1; }

# free_port prints a port free for UDP and TCP on 127.0.0.1.
free_port() {
	python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); break
    except OSError:
        pass
    finally:
        t.close(); u.close()
print(p)
PY
}

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

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

# step NAME PORT RATE: one sipp run at RATE for STEP seconds; status 0 when
# every registration succeeded and the run kept up with the offered rate
# (achieved >= 85% of RATE; a server that answers late slows sipp down
# instead of failing calls). Writes the achieved rate into the step folder.
step() {
	local name=$1 port=$2 rate=$3 calls=$(( $3 * STEP )) dir="$OUT/$1-$3"
	mkdir -p "$dir"
	local rc=0
	(cd "$dir" && sipp -sf "$SCEN" -i 127.0.0.1 -p "$(free_port)" -nostdin \
		-s "$USER_NAME" -au "$USER_NAME" -ap "$PASSWORD" \
		-r "$rate" -m "$calls" -l $(( rate * 2 + 100 )) \
		-timeout $(( STEP * 3 + 10 ))s -timeout_error \
		-trace_err -error_file errors.log \
		127.0.0.1:"$port" >sipp.out 2>&1) || rc=$?
	# sipp's cumulative call rate: calls over sipp's own elapsed time, the
	# tail of the last calls included (not the process start).
	awk -F'|' '/Call Rate/ { v = $3 } END { gsub(/[^0-9.]/, "", v); printf "%.0f", v + 0 }' "$dir/sipp.out" >"$dir/achieved"
	[ "$rc" -eq 0 ] || return "$rc"
	[ "$(cat "$dir/achieved")" -ge $(( rate * 85 / 100 )) ] || { echo "  $name: $rate/s offered, only $(cat "$dir/achieved")/s achieved" >&2; return 1; }
}

# ramp NAME PORT: highest rate of RATES that passes, printed on stdout.
ramp() {
	local name=$1 port=$2 best=0 r
	for r in $RATES; do
		if step "$name" "$port" "$r"; then
			best=$r
			echo "  $name: $r/s ok (achieved $(cat "$OUT/$name-$r/achieved")/s)" >&2
		else
			echo "  $name: $r/s FAILED (see $OUT/$name-$r)" >&2
			break
		fi
	done
	echo "$best"
}

echo "bench-register: work folder $OUT, steps of ${STEP}s at $RATES calls/s" >&2

# --- hushbox
HB_PORT=$(free_port)
HB_DATA="$OUT/hushbox-data"
mkdir -p "$HB_DATA"
"$HUSHBOX" serve --data "$HB_DATA" --sip 127.0.0.1:"$HB_PORT" --sip-tls "" \
	--rtp-ports 40000-40099 --realm "$REALM" --digest MD5 --log-level error \
	--media-ip 127.0.0.1 >"$OUT/hushbox.log" 2>&1 &
HB_PID=$!
pids+=("$HB_PID")
wait_log "$OUT/hushbox.log" "hushbox: ready" "$HB_PID" || { echo "hushbox did not start:" >&2; cat "$OUT/hushbox.log" >&2; exit 1; }
# Added through the running daemon, so the digest realm is --realm's.
"$HUSHBOX" ext add "$USER_NAME" --password "$PASSWORD" --data "$HB_DATA" >/dev/null
HB_BEST=$(ramp hushbox "$HB_PORT")
HB_HWM_KB=$(awk '/^VmHWM:/ { print $2 }' /proc/"$HB_PID"/status)
kill "$HB_PID"; wait "$HB_PID" 2>/dev/null || true

# --- Kamailio (same user, password and realm, usrloc in memory)
KAM_PORT=$(free_port)
KAM_MODULES=$(dirname "$(find /usr/lib -path '*kamailio/modules/registrar.so' 2>/dev/null | head -1)")
sed -e "s/BENCH_USER/$USER_NAME/; s/BENCH_PASSWORD/$PASSWORD/; s/BENCH_REALM/$REALM/g" \
	"$ROOT/scripts/bench/kamailio.cfg" >"$OUT/kamailio.cfg"
mkdir -p "$OUT/kamailio-run"
kamailio -f "$OUT/kamailio.cfg" -L "$KAM_MODULES" -l udp:127.0.0.1:"$KAM_PORT" \
	-n "$(nproc)" -DD -E -Y "$OUT/kamailio-run" -m 128 -M 16 >"$OUT/kamailio.log" 2>&1 &
KAM_PID=$!
pids+=("$KAM_PID")
wait_log "$OUT/kamailio.log" "^Aliases:" "$KAM_PID" && sleep 0.5 && kill -0 "$KAM_PID" || { echo "kamailio did not start:" >&2; cat "$OUT/kamailio.log" >&2; exit 1; }
KAM_BEST=$(ramp kamailio "$KAM_PORT")
kill "$KAM_PID"; wait "$KAM_PID" 2>/dev/null || true

echo "register_max_rate hushbox ${HB_BEST}/s"
echo "register_max_rate kamailio ${KAM_BEST}/s"
echo "hushbox_peak_rss_kb ${HB_HWM_KB}"
awk -v h="$HB_BEST" -v k="$KAM_BEST" 'BEGIN { if (k > 0) printf "ratio register_vs_kamailio %.2f\n", h / k; else print "ratio register_vs_kamailio n/a" }'
