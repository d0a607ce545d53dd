#!/usr/bin/env bash
# testbed.sh: a network of Linux network namespaces for multi-host tests of
# hushbox (issue 7): a LAN phone, the board, a WAN router, a remote phone,
# the cloud peer and an attacker. Nothing is attached to the host's network:
# every veth pair is created with both ends inside the test bed's namespaces,
# and only the router forwards. Needs root (ip netns).
#
#   lan (10.71.1.2) --- (10.71.1.1) board (10.71.2.2) --- (10.71.2.1)
#                                                            wan  router
#   remote (10.71.3.2) --- (10.71.3.1)                       (forwarding)
#   cloud  (10.71.4.2) --- (10.71.4.1)
#   attacker (10.71.5.2) - (10.71.5.1)
#
# The board's default route goes to the router, the LAN phone's to the
# board's LAN side; the board does not forward (it is a PBX, not a router),
# so WAN hosts reach the board's WAN address only.
#
# Usage:
#   testbed.sh up        build it, print KEY=VALUE lines ending with READY=1,
#                        then keep it until stdin closes or a signal comes,
#                        and tear it down (trap). With TESTBED_DETACH=1: build,
#                        print and exit, leaving it up (then `down PREFIX`).
#   testbed.sh down [PREFIX]   remove every namespace named PREFIX* (default:
#                        $TESTBED_PREFIX), after ending the processes in them
#   testbed.sh exec NS CMD...  run CMD in namespace NS (lan, board, wan, remote,
#                        cloud, attacker) of $TESTBED_PREFIX; in "board" and
#                        "cloud" inside their CPU cgroups when there are some
#
# Environment for `up`:
#   TESTBED_PREFIX   namespace name prefix (default hbx-<pid>-: parallel
#                    runs never collide)
#   WAN_DELAY_MS     netem delay on the router's interfaces (0: none)
#   BOARD_CPU_PCT    CPU limit of the board's processes in percent of one
#                    core (0: none): cgroup v2 cpu.max where writable, else
#                    cgroup v1 cpu.cfs_quota_us; `exec board` puts the
#                    command in that cgroup
#   BOARD_CPU_PERIOD_US  the CFS period of that limit (default 10000: 10 ms;
#                    the quota is PCT % of it). A short period makes the cap
#                    a slower CPU, not one that runs at full speed and then
#                    stops for most of a long period (100 ms periods at 20 %
#                    meant 80 ms blackouts of the whole board)
#
# CPU reserved for the board and the cloud: with a board CPU limit, the
# board's cgroup also gets the highest CPU weight (cgroup v2 cpu.weight
# 10000, v1 cpu.shares 102400), and the cloud a cgroup of its own with the
# same weight and no limit. A Pi 2 has its CPU to itself and a cloud
# container its reserved vCPU; here both share this host's cores with
# forty phone processes, the captures and the attacker, and with the
# default weight a cgroup counts as one process among them: under load the
# board got a few percent of a core instead of its 40 % (seldom throttled,
# its relay holding packets for up to a second). The weight only decides
# who runs first when the host is full; the board's limit still caps it.
# Everything else the test bed runs (the phones, the captures, the
# attacker: `exec` of the other roles, and the Go tests' own commands
# through LOAD_CGROUP) goes into a "load" cgroup of the lowest weight
# (v2 cpu.weight 1, v1 cpu.shares 2): the kernel splits a group's weight
# over the CPUs by where the group's load is, so a board thread waking on a
# CPU where the board had little load got a small weight there and could
# queue behind the phones for tens of milliseconds whatever the board's
# total weight (a 39 ms hold of the board's relay with the board at 14 %
# of a core, docs/benchmarks.md run i1-2); with the phones in a group of
# their own at the lowest weight, that CPU's time goes to the board first
# there too.
#
# KEY=VALUE lines: PREFIX, NS_<ROLE> (namespace names), <ROLE>_IP (LAN_IP,
# BOARD_LAN_IP, BOARD_WAN_IP, REMOTE_IP, CLOUD_IP, ATTACKER_IP, ROUTER_IP),
# WAN_DELAY_MS, BOARD_CGROUP (empty without a CPU limit), BOARD_CPU_MAX
# ("QUOTA PERIOD" in microseconds, empty without a limit), CLOUD_CGROUP
# and LOAD_CGROUP (empty without a board CPU limit), READY=1.
set -euo pipefail

ROLES="lan board wan remote cloud attacker"

# cgroup_mount_cmd prints the shell commands that mount this host's CPU
# cgroup hierarchy at its usual place under a fresh /sys: the unified
# hierarchy on cgroup v2, else v1's cpu controller on a tmpfs, with the
# host's mount options (they name every controller mounted with it, which
# the kernel wants named again).
cgroup_mount_cmd() {
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		echo "mount -t cgroup2 cgroup2 /sys/fs/cgroup"
		return
	fi
	awk '$3 == "cgroup" && ("," $4 ",") ~ /,cpu,/ {
		printf "mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup && mkdir -p %s && mount -t cgroup -o %s cgroup %s\n", $2, $4, $2; exit
	}' /proc/mounts
}

die() { echo "testbed: $*" >&2; exit 1; }

ns() { echo "${PREFIX}$1"; }

# link A IFA ADDR_A B IFB ADDR_B: a veth pair between namespaces A and B,
# created directly inside them (never in the host's namespace).
link() {
	local a=$1 ifa=$2 addra=$3 b=$4 ifb=$5 addrb=$6
	ip link add "$ifa" netns "$(ns "$a")" type veth peer name "$ifb" netns "$(ns "$b")"
	ip -n "$(ns "$a")" addr add "$addra" dev "$ifa"
	ip -n "$(ns "$b")" addr add "$addrb" dev "$ifb"
	ip -n "$(ns "$a")" link set "$ifa" up
	ip -n "$(ns "$b")" link set "$ifb" up
}

# teardown PREFIX: end the processes in each namespace of PREFIX, remove
# the namespaces and the board's and the cloud's cgroups.
teardown() {
	local p=$1 n pids cg _
	[ -n "$p" ] || return 0
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${p}" || true); do
		pids=$(ip netns pids "$n" 2>/dev/null || true)
		if [ -n "$pids" ]; then
			kill $pids 2>/dev/null || true
			sleep 0.5
			pids=$(ip netns pids "$n" 2>/dev/null || true)
			[ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
		fi
		ip netns del "$n" 2>/dev/null || true
	done
	# Processes left in the cgroups were ended with their namespaces;
	# they may take a moment to leave.
	for cg in $(cgroup_paths "$p" board) $(cgroup_paths "$p" cloud) $(cgroup_paths "$p" load); do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			[ -d "$cg" ] || break
			rmdir "$cg" 2>/dev/null && break
			sleep 0.2
		done
	done
}

# cgroup_paths PREFIX ROLE: where ROLE's cgroup may live: cgroup v2 (the
# unified hierarchy, or its hybrid mount), then cgroup v1's cpu controller.
cgroup_paths() {
	local v2=/sys/fs/cgroup
	[ -f "$v2/cgroup.controllers" ] || v2=/sys/fs/cgroup/unified
	echo "$v2/${1}$2 /sys/fs/cgroup/cpu/${1}$2"
}

# Highest CPU weight of a cgroup: v2 cpu.weight, v1 cpu.shares (the same
# share: v2 weight 100 is v1's 1024); and the lowest, for the "load"
# cgroup of everything else.
CG_WEIGHT_V2=10000
CG_WEIGHT_V1=102400
CG_LOW_V2=1
CG_LOW_V1=2

# role_cgroup ROLE PCT PERIOD [W2 W1]: make ROLE's cgroup with the highest
# CPU weight (or W2 / W1) and, for PCT > 0, limited to PCT % of one CPU in
# CFS periods of PERIOD us: cpu.max and cpu.weight where cgroup v2 has a
# writable cpu controller, else cgroup v1's cpu.cfs_quota_us and
# cpu.shares; print its path, or nothing.
role_cgroup() {
	local role=$1 pct=$2 period=$3 w2=${4:-$CG_WEIGHT_V2} w1=${5:-$CG_WEIGHT_V1} v2 v1 parent quota=""
	if [ "$pct" -gt 0 ] 2>/dev/null; then
		[ "$period" -ge 1000 ] 2>/dev/null && [ "$period" -le 1000000 ] || die "BOARD_CPU_PERIOD_US=$period: want 1000 to 1000000"
		quota=$((pct * period / 100))
		[ "$quota" -ge 1000 ] || die "BOARD_CPU_PCT=$pct of a $period us period is under the kernel's 1000 us minimum quota"
	fi
	read -r v2 v1 <<<"$(cgroup_paths "$PREFIX" "$role")"
	parent=$(dirname "$v2")
	if grep -qw cpu "$parent/cgroup.controllers" 2>/dev/null; then
		grep -qw cpu "$parent/cgroup.subtree_control" 2>/dev/null || echo +cpu >"$parent/cgroup.subtree_control" 2>/dev/null || true
		if mkdir "$v2" 2>/dev/null && echo "$w2" >"$v2/cpu.weight" 2>/dev/null &&
			{ [ -z "$quota" ] || echo "$quota $period" >"$v2/cpu.max" 2>/dev/null; }; then
			echo "$v2"
			return 0
		fi
		rmdir "$v2" 2>/dev/null || true
	fi
	if [ -f "$(dirname "$v1")/cpu.cfs_quota_us" ]; then
		if mkdir "$v1" 2>/dev/null && echo "$w1" >"$v1/cpu.shares" 2>/dev/null &&
			{ [ -z "$quota" ] || { echo "$period" >"$v1/cpu.cfs_period_us" 2>/dev/null &&
				echo "$quota" >"$v1/cpu.cfs_quota_us" 2>/dev/null; }; }; then
			echo "$v1"
			return 0
		fi
		rmdir "$v1" 2>/dev/null || true
	fi
	echo "testbed: no writable cgroup cpu controller: $role CPU not limited or reserved" >&2
}

up() {
	PREFIX="${TESTBED_PREFIX:-hbx-$$-}"
	case "$PREFIX" in hbx-*) ;; *) die "TESTBED_PREFIX must start with hbx- (down removes hbx-* namespaces)";; esac
	[ "$(id -u)" = 0 ] || die "needs root (ip netns)"
	command -v ip >/dev/null || die "ip missing (apt-get install iproute2)"
	local delay="${WAN_DELAY_MS:-0}" cpu="${BOARD_CPU_PCT:-0}" period="${BOARD_CPU_PERIOD_US:-10000}" r cg="" cpumax="" cloudcg="" loadcg=""
	if [ "${TESTBED_DETACH:-0}" != 1 ]; then
		exec 3<&0
		trap 'set +e; [ -z "${KEEPER:-}" ] || kill "$KEEPER" 2>/dev/null; teardown "$PREFIX"' EXIT
		trap 'exit 0' INT TERM HUP
	fi
	for r in $ROLES; do
		ip netns add "$(ns "$r")"
		ip -n "$(ns "$r")" link set lo up
	done
	link lan   eth0 10.71.1.2/24 board lan0  10.71.1.1/24
	link board wan0 10.71.2.2/24 wan   board 10.71.2.1/24
	link remote eth0 10.71.3.2/24 wan  remote 10.71.3.1/24
	link cloud eth0 10.71.4.2/24 wan   cloud 10.71.4.1/24
	link attacker eth0 10.71.5.2/24 wan attacker 10.71.5.1/24
	ip -n "$(ns lan)" route add default via 10.71.1.1
	ip -n "$(ns board)" route add default via 10.71.2.1
	for r in remote cloud attacker; do
		ip -n "$(ns "$r")" route add default via "10.71.$(case $r in remote) echo 3;; cloud) echo 4;; attacker) echo 5;; esac).1"
	done
	# Only the router forwards; the board keeps its LAN and WAN apart.
	ip netns exec "$(ns wan)" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$(ns board)" sysctl -qw net.ipv4.ip_forward=0
	if [ "$delay" -gt 0 ] 2>/dev/null; then
		for ifc in board remote cloud attacker; do
			if ! ip netns exec "$(ns wan)" tc qdisc add dev "$ifc" root netem delay "${delay}ms" 2>/dev/null; then
				echo "testbed: netem not available: no WAN delay" >&2
				delay=0
				break
			fi
		done
	else
		delay=0
	fi
	if [ "$cpu" -gt 0 ] 2>/dev/null; then
		cg=$(role_cgroup board "$cpu" "$period")
		cloudcg=$(role_cgroup cloud 0 0)
		loadcg=$(role_cgroup load 0 0 "$CG_LOW_V2" "$CG_LOW_V1")
	fi
	if [ -n "$cg" ]; then
		if [ -f "$cg/cpu.max" ]; then
			cpumax=$(cat "$cg/cpu.max")
		else
			cpumax="$(cat "$cg/cpu.cfs_quota_us") $(cat "$cg/cpu.cfs_period_us")"
		fi
	fi
	echo "PREFIX=$PREFIX"
	for r in $ROLES; do
		echo "NS_$(echo "$r" | tr a-z A-Z)=$(ns "$r")"
	done
	cat <<EOF
LAN_IP=10.71.1.2
BOARD_LAN_IP=10.71.1.1
BOARD_WAN_IP=10.71.2.2
ROUTER_IP=10.71.2.1
REMOTE_IP=10.71.3.2
CLOUD_IP=10.71.4.2
ATTACKER_IP=10.71.5.2
WAN_DELAY_MS=$delay
BOARD_CGROUP=$cg
BOARD_CPU_MAX=$cpumax
CLOUD_CGROUP=$cloudcg
LOAD_CGROUP=$loadcg
READY=1
EOF
	if [ "${TESTBED_DETACH:-0}" = 1 ]; then
		return 0
	fi
	# Kept until the caller closes stdin (or dies) or signals us; wait (not
	# a foreground cat) lets the signal trap run at once.
	cat <&3 >/dev/null &
	KEEPER=$!
	wait "$KEEPER" || true
}

cmd=${1:-}
shift || true
case "$cmd" in
up) up ;;
down)
	p="${1:-${TESTBED_PREFIX:-}}"
	[ -n "$p" ] || die "down: give the PREFIX printed by up"
	case "$p" in hbx-*) ;; *) die "down: prefix must start with hbx-";; esac
	teardown "$p"
	;;
exec)
	[ $# -ge 2 ] || die "usage: testbed.sh exec NS CMD..."
	PREFIX="${TESTBED_PREFIX:?exec: set TESTBED_PREFIX to the PREFIX printed by up}"
	r=$1
	shift
	case " $ROLES " in *" $r "*) ;; *) die "exec: unknown namespace $r (want one of: $ROLES)";; esac
	g=$r
	[ "$r" = board ] || [ "$r" = cloud ] || g=load
	for cg in $(cgroup_paths "$PREFIX" "$g"); do
		if [ -f "$cg/cgroup.procs" ]; then
			echo $$ >"$cg/cgroup.procs"
			break
		fi
	done
	if [ "$g" = load ]; then
		exec ip netns exec "$(ns "$r")" "$@"
	fi
	# `ip netns exec` mounts a /sys of its own, without the cgroup file
	# system: the daemon would not see its CPU limit (its start-up log
	# says it) nor its throttled time (the relay's hold lines). Mount the
	# host's CPU hierarchy again inside that private mount namespace, as a
	# board under systemd or a container sees it. Best effort: the daemon
	# says "limit none" where it cannot.
	m=$(cgroup_mount_cmd)
	exec ip netns exec "$(ns "$r")" sh -c "{ ${m:-true}; } 2>/dev/null || true; "'exec "$@"' sh "$@"
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
	;;
esac
