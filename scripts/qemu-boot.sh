#!/usr/bin/env bash
# qemu-boot.sh: boot a hushbox card image's kernel and initramfs under
# qemu-system-arm, on a COPY of the card (never a host block device).
#
#   scripts/qemu-boot.sh [options] IMAGE        IMAGE: hushbox.img or .img.zst
#     --machine virt|raspi2b   virt (default): cortex-a15, 512 MiB, virtio disk,
#                              virtio-net user networking with host forwards, and
#                              hushbox.ntp=off (nothing in the guest then talks to
#                              the outside; slirp's restrict=on would be tighter but
#                              drops the replies of forwarded UDP, i.e. SIP)
#                              raspi2b: the Pi 2 model with its DTB, SD card, no network
#     --dir DIR                work folder holding the card copy (disk.img) and the
#                              serial log (console.log); kept, and the copy reused,
#                              when it already exists, so a second boot sees the
#                              data of the first. Default: a new temp folder.
#     --sip-port N --web-port N  127.0.0.1 ports forwarded to the guest's 5060/udp
#                              and 8443/tcp (default: random free ports)
#     --slot a|b               initramfs slot to boot (default a)
#     --grow MIB               make the card copy this big (first-boot growth)
#     --append ARGS            more kernel command line (e.g. hushbox.health=60)
# Prints "dir=... log=... sip=... web=..." then runs qemu in the foreground;
# the serial console goes to DIR/console.log. Stop it with SIGTERM/SIGKILL.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin
export MTOOLS_SKIP_CHECK=1

die() { echo "qemu-boot: $*" >&2; exit 1; }
MACHINE=virt DIR= SIP= WEB= SLOT=a GROW= IMAGE= EXTRA=
while [ $# -gt 0 ]; do
	case "$1" in
	--machine) MACHINE=$2; shift 2 ;;
	--dir) DIR=$2; shift 2 ;;
	--sip-port) SIP=$2; shift 2 ;;
	--web-port) WEB=$2; shift 2 ;;
	--slot) SLOT=$2; shift 2 ;;
	--grow) GROW=$2; shift 2 ;;
	--append) EXTRA=$2; shift 2 ;;
	-*) die "unknown option $1" ;;
	*) IMAGE=$1; shift ;;
	esac
done
[ -n "$IMAGE" ] && [ -f "$IMAGE" ] || die "usage: scripts/qemu-boot.sh [--machine virt|raspi2b] [--dir DIR] IMAGE"
command -v qemu-system-arm >/dev/null || die "qemu-system-arm missing (apt-get install qemu-system-arm)"
command -v mcopy >/dev/null || die "mcopy missing (apt-get install mtools)"
[ -n "$DIR" ] || DIR=$(mktemp -d /tmp/hushbox-qemu.XXXXXX)
mkdir -p "$DIR"
DISK=$DIR/disk.img
if [ ! -f "$DISK" ]; then
	case "$IMAGE" in
	*.zst) zstd -q -d -f "$IMAGE" -o "$DISK" ;;
	*) cp --sparse=always "$IMAGE" "$DISK" ;;
	esac
	[ -n "$GROW" ] && truncate -s "${GROW}M" "$DISK"
fi
if [ "$MACHINE" = raspi2b ]; then
	# qemu's SD card model wants a power-of-two size.
	size=$(stat -c %s "$DISK") p=1
	while [ "$p" -lt "$size" ]; do p=$((p * 2)); done
	[ "$p" = "$size" ] || truncate -s "$p" "$DISK"
fi

# The kernel, DTB and initramfs come from the copy's boot partition, as
# U-Boot would load them (the first partition, found with sfdisk).
start=$(sfdisk -d "$DISK" | awk -F'[=,]' '/start=/{gsub(/ /,"",$2); print $2; exit}')
[ -n "$start" ] || die "no partition table in $DISK"
FAT="$DISK@@$((start * 512))"
mcopy -o -i "$FAT" ::vmlinuz "$DIR/vmlinuz"
mcopy -o -i "$FAT" "::initrd-$SLOT.img" "$DIR/initrd.img"
LOG=$DIR/console.log
: >"$LOG"

free_port() { # a port nothing listens on now (tcp and udp)
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		ss -Hltun "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
	done
}

common=(-display none -monitor none -serial "file:$LOG" -no-user-config -nodefaults)
case "$MACHINE" in
virt)
	[ -n "$SIP" ] || SIP=$(free_port)
	[ -n "$WEB" ] || WEB=$(free_port)
	echo "dir=$DIR log=$LOG sip=127.0.0.1:$SIP web=127.0.0.1:$WEB"
	exec qemu-system-arm -M virt,highmem=off -cpu cortex-a15 -m 512 -smp 2 "${common[@]}" \
		-kernel "$DIR/vmlinuz" -initrd "$DIR/initrd.img" \
		-append "console=ttyAMA0 hushbox.slot=$SLOT hushbox.ntp=off panic=10 loglevel=4 $EXTRA" \
		-drive "if=none,file=$DISK,format=raw,id=card,cache=writeback" -device virtio-blk-device,drive=card \
		-netdev "user,id=lan,hostfwd=udp:127.0.0.1:$SIP-:5060,hostfwd=tcp:127.0.0.1:$WEB-:8443" \
		-device virtio-net-device,netdev=lan \
		-device virtio-rng-device
	;;
raspi2b)
	dtb=$(mdir -b -i "$FAT" :: | tr -d ' ' | sed 's#^::/##' | grep -m1 'bcm2836-rpi-2-b.dtb') || die "no bcm2836-rpi-2-b.dtb on the boot partition"
	mcopy -o -i "$FAT" "::$dtb" "$DIR/board.dtb"
	echo "dir=$DIR log=$LOG"
	exec qemu-system-arm -M raspi2b "${common[@]}" \
		-kernel "$DIR/vmlinuz" -initrd "$DIR/initrd.img" -dtb "$DIR/board.dtb" \
		-append "console=ttyAMA0,115200 earlycon=pl011,0x3f201000 hushbox.slot=$SLOT hushbox.ntp=off hushbox.watchdog=off panic=10 loglevel=4 $EXTRA" \
		-drive "if=sd,file=$DISK,format=raw,cache=writeback"
	;;
*) die "unknown machine $MACHINE (virt or raspi2b)" ;;
esac
