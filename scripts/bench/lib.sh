# lib.sh: shell helpers shared by the benchmark scripts (sourced; tested
# by scripts/bench/rtpbench/lib_test.go on the files in testdata/).

# sipp_stats FILE: "SUCCESSFUL FAILED ACHIEVED" from a sipp screen dump:
# the cumulative successful and failed call counters, and successful calls
# over sipp's start-to-end time (Start Time / Current Time, epoch column).
sipp_stats() {
	awk -F'|' '
		function epoch(s,   a, n, i, v) {
			n = split(s, a, /[ \t]+/)
			for (i = 1; i <= n; i++) if (a[i] ~ /^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]+\.[0-9]+$/) v = a[i]
			return v + 0
		}
		/Start Time/   { start = epoch($2) }
		/Current Time/ { now = epoch($2) }
		/Successful call/ { ok = $3 + 0 }
		/Failed call/     { failed = $3 + 0 }
		END {
			el = now - start
			printf "%d %d %.0f\n", ok, failed, (el > 0 ? ok / el : 0)
		}' "$1"
}

# tree_pids PID: PID and all its descendants (Kamailio forks workers).
tree_pids() {
	local p c
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		tree_pids "$c"
	done
}

# stat_cpu_ticks STATFILE: utime+stime (clock ticks) of one /proc/PID/stat
# (fields counted after the command name's last ')').
stat_cpu_ticks() {
	sed -e 's/^.*) //' "$1" 2>/dev/null | awk '{ print $12 + $13 }'
}

# tree_cpu PID: CPU seconds (user+system) of PID and its descendants.
tree_cpu() {
	local p sum=0 t hz
	hz=$(getconf CLK_TCK)
	for p in $(tree_pids "$1"); do
		t=$(stat_cpu_ticks /proc/"$p"/stat)
		sum=$(( sum + ${t:-0} ))
	done
	awk -v s="$sum" -v hz="$hz" 'BEGIN { printf "%.2f\n", s / hz }'
}

# status_kb STATUSFILE FIELD: FIELD (VmRSS, VmHWM) in kB of /proc/PID/status.
status_kb() {
	awk -v f="$2:" '$1 == f { print $2; found = 1 } END { if (!found) print 0 }' "$1" 2>/dev/null
}

# rollup_kb ROLLUPFILE FIELD: FIELD (Pss, Rss) in kB of /proc/PID/smaps_rollup.
rollup_kb() {
	awk -v f="$2:" '$1 == f { print $2; found = 1 } END { if (!found) print 0 }' "$1" 2>/dev/null
}

# tree_pss_kb PID: proportional set size of PID and its descendants (kB):
# shared memory (Kamailio's shm, the binary) counted once across them.
tree_pss_kb() {
	local p sum=0 v
	for p in $(tree_pids "$1"); do
		v=$(rollup_kb /proc/"$p"/smaps_rollup Pss)
		sum=$(( sum + ${v:-0} ))
	done
	echo "$sum"
}

# kv LINE KEY: the value of KEY=VALUE in a result line.
kv() {
	printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2; exit }'
}

# ratio A B: A/B with two decimals, "n/a" when B is zero or missing.
ratio() {
	awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b + 0 > 0) printf "%.2f\n", a / b; else print "n/a" }'
}

# free_port prints a port free for UDP and TCP on 127.0.0.1.
free_port() {
	python3 - <<'PY'
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
