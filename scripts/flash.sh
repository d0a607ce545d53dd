#!/usr/bin/env bash
# scripts/flash.sh IMAGE DEVICE [--force]: write a hushbox SD card image
# (out/hushbox-BOARD-VERSION.img.zst, or a plain .img) to an SD card.
#
# Before a byte is written it checks:
#   - IMAGE against IMAGE.sha256 (made by `make image`); a missing or wrong
#     checksum is refused;
#   - DEVICE is a whole disk the kernel knows (not a partition);
#   - no partition of DEVICE is mounted (never overridable: unmount it);
#   - DEVICE is removable (/sys/block/X/removable, or an mmcblk SD slot) and
#     at most 64 GiB (a sane SD card), unless --force;
#   - the image fits on DEVICE.
# It writes with a progress bar (pv when installed, else dd status=progress),
# flushes, and reads the card back to compare.
#
# For tests the sysfs root, the mount table and the size limit come from
#   HUSHBOX_SYSFS (default /sys), HUSHBOX_MOUNTS (default /proc/mounts),
#   HUSHBOX_FLASH_MAX_GIB (default 64)
# so the script can be run against a plain file and a fake /sys tree.
set -euo pipefail

SYSFS=${HUSHBOX_SYSFS:-/sys}
MOUNTS=${HUSHBOX_MOUNTS:-/proc/mounts}
MAX_GIB=${HUSHBOX_FLASH_MAX_GIB:-64}

die() { echo "flash: $*" >&2; exit 1; }
usage() { echo "usage: scripts/flash.sh IMAGE DEVICE [--force]" >&2; exit 2; }

FORCE=0
ARGS=()
for a in "$@"; do
	case "$a" in
	--force) FORCE=1 ;;
	-h|--help) usage ;;
	-*) echo "flash: unknown option $a" >&2; usage ;;
	*) ARGS+=("$a") ;;
	esac
done
[ ${#ARGS[@]} -eq 2 ] || usage
IMAGE=${ARGS[0]}
DEVICE=${ARGS[1]}

# --- the image and its checksum
[ -f "$IMAGE" ] || die "$IMAGE: no such image"
SUMFILE=$IMAGE.sha256
[ -f "$SUMFILE" ] || die "$SUMFILE missing: cannot check the image (make image writes it)"
want=$(awk 'NR==1 {print $1}' "$SUMFILE")
[[ "$want" =~ ^[0-9a-f]{64}$ ]] || die "$SUMFILE: no SHA-256 in it"
echo "flash: checking $IMAGE against $SUMFILE"
got=$(sha256sum <"$IMAGE" | awk '{print $1}')
[ "$got" = "$want" ] || die "$IMAGE does not match $SUMFILE (damaged or incomplete download): nothing written"

case "$IMAGE" in
*.zst)
	command -v zstd >/dev/null || die "zstd is needed to decompress $IMAGE (apt-get install zstd)"
	decompress() { zstd -dcq -- "$IMAGE"; }
	# The frame header records the decompressed size (make image writes it).
	IMG_BYTES=$(zstd -lv -- "$IMAGE" 2>/dev/null | awk '/Decompressed Size:/ {gsub(/[(),]/,""); for (i=1;i<=NF;i++) if ($i=="B") {print $(i-1); exit}}')
	;;
*)
	decompress() { cat -- "$IMAGE"; }
	IMG_BYTES=$(stat -c %s -- "$IMAGE")
	;;
esac
if ! [[ "${IMG_BYTES:-}" =~ ^[0-9]+$ ]]; then
	IMG_BYTES=$(decompress | wc -c)
fi

# --- the device
[ -e "$DEVICE" ] || die "$DEVICE: no such device"
REAL=$(readlink -f -- "$DEVICE")
NAME=$(basename -- "$REAL")
if [ -e "$SYSFS/class/block/$NAME/partition" ]; then
	die "$DEVICE is a partition: give the whole card (e.g. /dev/sdX, not /dev/sdX1)"
fi
BLK=$SYSFS/block/$NAME
[ -d "$BLK" ] || die "$DEVICE ($NAME) is not a disk the kernel knows ($BLK missing)"

# Mounted: the disk or any of its partitions (sdb1, mmcblk0p1) in the mount table.
if awk -v n="$NAME" '
	{ src = $1; sub(/^\/dev\//, "", src) }
	src == n || (index(src, n) == 1 && substr(src, length(n) + 1) ~ /^p?[0-9]+$/) { found = 1; print "flash:   " $1 " on " $2 > "/dev/stderr" }
	END { exit !found }' "$MOUNTS"; then
	die "$DEVICE is mounted (above): unmount it first; --force does not override this"
fi

removable=$(cat "$BLK/removable" 2>/dev/null || echo 0)
case "$NAME" in mmcblk*) removable=1 ;; esac # built-in SD slots report 0
sectors=$(cat "$BLK/size" 2>/dev/null || echo 0)
DEV_BYTES=$((sectors * 512))
[ "$DEV_BYTES" -gt 0 ] || die "$DEVICE has no medium (size 0)"
GIB=$((DEV_BYTES / 1024 / 1024 / 1024))
if [ "$removable" != 1 ]; then
	[ "$FORCE" = 1 ] || die "$DEVICE is not a removable device: refusing (it may be a system disk; --force if you are sure)"
	echo "flash: $DEVICE is not removable; writing anyway (--force)" >&2
fi
if [ "$DEV_BYTES" -gt $((MAX_GIB * 1024 * 1024 * 1024)) ]; then
	[ "$FORCE" = 1 ] || die "$DEVICE is ${GIB} GiB, larger than a sane SD card (${MAX_GIB} GiB): refusing (--force if you are sure)"
	echo "flash: $DEVICE is ${GIB} GiB; writing anyway (--force)" >&2
fi
[ "$IMG_BYTES" -le "$DEV_BYTES" ] || die "the image ($IMG_BYTES bytes) does not fit on $DEVICE ($DEV_BYTES bytes)"

# --- write, flush, compare
echo "flash: writing $IMAGE ($IMG_BYTES bytes) to $DEVICE ($NAME, $DEV_BYTES bytes)"
if command -v pv >/dev/null; then
	decompress | pv -s "$IMG_BYTES" | dd of="$DEVICE" bs=4M iflag=fullblock conv=notrunc,fsync status=none
else
	decompress | dd of="$DEVICE" bs=4M iflag=fullblock conv=notrunc,fsync status=progress
fi
sync
echo "flash: reading back to compare"
decompress | cmp -n "$IMG_BYTES" - "$DEVICE" >/dev/null || die "read-back of $DEVICE differs from the image: the card may be bad"
echo "flash: done; $DEVICE holds $(basename -- "$IMAGE")"
