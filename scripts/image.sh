#!/usr/bin/env bash
# image.sh BOARD: build the hushbox SD card image for rpi2, cubieboard2 or
# cubietruck, without root mounts:
#   build/image/BOARD/initramfs/   the root file system tree
#   build/image/BOARD/initrd.img   it as a compressed newc cpio (zstd)
#   build/image/BOARD/boot.vfat    the FAT boot partition (mkfs.vfat + mtools)
#   build/image/BOARD/data.ext4    the ext4 data partition (mke2fs -d)
#   build/image/BOARD/hushbox.img  the whole card: MBR (sfdisk), both partitions,
#                                  A20 SPL + U-Boot at 8 KiB (dd conv=notrunc)
#   out/hushbox-BOARD-VERSION.img.zst and .img.zst.sha256
# Inputs: rootfs/ (init, etc, boot, modules, packages.lock, alsa, keys), the
# Debian packages from scripts/fetch-debs.sh, and bin/hushbox-linux-armv7
# (`make arm`; HUSHBOX_BIN overrides). VERSION defaults to git describe.
# Layout and the boot partition contract: docs/image.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH:/usr/sbin:/sbin
GO=${GO:-go}

BOARD=${1:-}
VERSION=${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}
HUSHBOX_BIN=${HUSHBOX_BIN:-bin/hushbox-linux-armv7}
OUT=${OUT:-out}
ZSTD_LEVEL=${ZSTD_LEVEL:-19}      # initramfs (what the board unpacks)
IMG_ZSTD_LEVEL=${IMG_ZSTD_LEVEL:-6} # card image (holds the initramfs twice, already packed)
# Partition layout (MiB): the SPL and U-Boot live in the gap before the FAT.
BOOT_START_MIB=4
BOOT_MIB=${BOOT_MIB:-128}
DATA_MIB=${DATA_MIB:-64}

die() { echo "image: $*" >&2; exit 1; }

case "$BOARD" in
rpi2) DTB=bcm2836-rpi-2-b.dtb UBOOT_DIR=rpi_2 ;;
cubieboard2) DTB=sun7i-a20-cubieboard2.dtb UBOOT_DIR=Cubieboard2 ;;
cubietruck) DTB=sun7i-a20-cubietruck.dtb UBOOT_DIR=Cubietruck ;;
*) die "usage: scripts/image.sh rpi2|cubieboard2|cubietruck" ;;
esac

for t in "$GO" mkimage mkfs.vfat mcopy mmd mdir sfdisk mke2fs cpio zstd depmod; do
	command -v "$t" >/dev/null || die "missing host tool $t (scripts/fetch-debs.sh installs them; see docs/image.md)"
done
[ -x "$HUSHBOX_BIN" ] || die "$HUSHBOX_BIN missing: run make arm"
# The initramfs carries no C library: the binary must be static.
if command -v readelf >/dev/null && readelf -lW "$HUSHBOX_BIN" | grep -q 'program interpreter'; then
	die "$HUSHBOX_BIN is dynamically linked; the image needs a static build (make arm)"
fi

scripts/fetch-debs.sh
DEB=build/armhf
KVER=$(basename "$(ls -d $DEB/lib/modules/*/ | head -1)")
[ -n "$KVER" ] && [ -f "$DEB/boot/vmlinuz-$KVER" ] || die "no kernel in $DEB"
W=build/image/$BOARD
rm -rf "$W"
mkdir -p "$W" "$OUT"
T0=$(date +%s)

# ---------------------------------------------------------------- initramfs
R=$W/initramfs
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/lib/hushbox,etc/hushbox,proc,sys,dev,run,tmp,data,boot,root,var}
ln -s ../run "$R/var/run"
ln -s ../tmp "$R/var/tmp"
install -m 0755 "$DEB/bin/busybox" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
install -m 0755 rootfs/init "$R/init"
install -m 0755 rootfs/etc/udhcpc.script "$R/etc/udhcpc.script"
install -m 0755 "$HUSHBOX_BIN" "$R/usr/bin/hushbox"
# hushbox-boot (rootfs/boottool): first-boot growth of the data partition
# and SNTP, which busybox-static lacks.
CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 "$GO" build -trimpath -ldflags '-s -w' \
	-o "$R/usr/lib/hushbox/hushbox-boot" ./rootfs/boottool
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\ntty:x:5:\naudio:x:29:\n' >"$R/etc/group"
printf '127.0.0.1 localhost\n127.0.1.1 hushbox\n' >"$R/etc/hosts"
: >"$R/etc/resolv.conf"
echo "$BOARD" >"$R/etc/hushbox/board"
echo "hushbox $VERSION" >"$R/etc/hushbox/version"
if [ -d rootfs/alsa ]; then
	mkdir -p "$R/usr/share/alsa"
	cp -a rootfs/alsa/. "$R/usr/share/alsa/"
	[ -f rootfs/alsa/asound.conf ] && install -m 0644 rootfs/alsa/asound.conf "$R/etc/asound.conf"
fi
if [ -d rootfs/keys ]; then
	cp -a rootfs/keys/. "$R/etc/hushbox/"
fi

# Modules: the closure (modules.dep) of common + qemu (virtio) + board lists.
MOD=$DEB/lib/modules/$KVER
[ -f "$MOD/modules.dep" ] && [ "$MOD/modules.dep" -nt "$DEB/.lock-sha256" ] || depmod -b "$DEB" "$KVER"
names=$(cat rootfs/modules/common.txt rootfs/modules/qemu.txt "rootfs/modules/$BOARD.txt" | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$')
printf '%s\n' $names >"$R/etc/hushbox/modules"
paths=$(awk -v want="$(echo $names)" '
	function norm(s) { gsub(/-/, "_", s); return s }
	BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) need[norm(w[i])] = 1 }
	{
		key = $1; sub(/:$/, "", key)
		base = key; sub(/.*\//, "", base); sub(/\.ko.*$/, "", base)
		path[norm(base)] = key
		deps[key] = ""
		for (i = 2; i <= NF; i++) deps[key] = deps[key] " " $i
	}
	END {
		for (m in need) {
			if (!(m in path)) { print "MISSING " m; continue }
			queue[++qn] = path[m]
		}
		for (q = 1; q <= qn; q++) {
			p = queue[q]
			if (p in seen) continue
			seen[p] = 1; print p
			k = split(deps[p], d, " ")
			for (i = 1; i <= k; i++) if (!(d[i] in seen)) queue[++qn] = d[i]
		}
	}' "$MOD/modules.dep")
if echo "$paths" | grep -q '^MISSING'; then
	die "modules not in $KVER: $(echo "$paths" | grep '^MISSING' | cut -d' ' -f2 | tr '\n' ' ')"
fi
RM=$R/lib/modules/$KVER
mkdir -p "$RM"
for p in $paths; do
	install -D -m 0644 "$MOD/$p" "$RM/$p"
done
cp "$MOD/modules.order" "$MOD/modules.builtin" "$MOD/modules.builtin.modinfo" "$RM/"
depmod -b "$R" "$KVER"
# Firmware the chosen modules ask for, when Debian ships it in these packages.
for p in $paths; do
	modinfo -F firmware "$MOD/$p" 2>/dev/null
done | sort -u | while read -r fw; do
	[ -f "$DEB/lib/firmware/$fw" ] && install -D -m 0644 "$DEB/lib/firmware/$fw" "$R/lib/firmware/$fw"
done

# Reproducible cpio: sorted names, fixed owner and time.
EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
find "$R" -exec touch -h -d "@$EPOCH" {} +
(cd "$R" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
	zstd -q -"$ZSTD_LEVEL" -T0 -o "$W/initrd.img"
T1=$(date +%s)

# ---------------------------------------------------------------- boot FAT
BF=$W/boot.vfat
truncate -s "${BOOT_MIB}M" "$BF"
mkfs.vfat -F 32 -n HUSHBOOT -i 48555348 "$BF" >/dev/null
export MTOOLS_SKIP_CHECK=1
mcp() { mcopy -o -i "$BF" "$@"; }
mkimage -A arm -O linux -T script -C none -n "hushbox boot" -d rootfs/boot/boot.cmd "$W/boot.scr" >/dev/null
mcp "$DEB/boot/vmlinuz-$KVER" ::vmlinuz
mcp "$DEB/usr/lib/linux-image-$KVER/$DTB" "::$DTB"
mcp "$W/initrd.img" ::initrd-a.img
mcp "$W/initrd.img" ::initrd-b.img
mcp "$W/boot.scr" ::boot.scr
mcp rootfs/boot/hushbox.env ::hushbox.env
if [ "$BOARD" = rpi2 ]; then
	FW=$DEB/usr/lib/raspi-firmware
	for f in bootcode.bin start.elf fixup.dat; do mcp "$FW/$f" "::$f"; done
	mcp "$DEB/usr/lib/u-boot/$UBOOT_DIR/u-boot.bin" ::u-boot.bin
	mcp rootfs/boot/config.txt ::config.txt
	mcp rootfs/boot/cmdline.txt ::cmdline.txt
fi
printf 'hushbox %s for %s\r\nkernel %s\r\n' "$VERSION" "$BOARD" "$KVER" >"$W/VERSION.txt"
mcp "$W/VERSION.txt" ::VERSION.txt

# ---------------------------------------------------------------- data ext4
DD=$W/data-tree
mkdir -p "$DD"
printf 'hushbox data partition: the store, certificates and logs live here.\n' >"$DD/README"
touch -d "@$EPOCH" "$DD/README" "$DD"
DF=$W/data.ext4
mke2fs -q -t ext4 -b 4096 -L HUSHDATA -U 48555348-0000-4000-8000-000000000002 -E root_owner=0:0 \
	-O ^has_journal -d "$DD" "$DF" "${DATA_MIB}M" >/dev/null
# A journal (data=journal on the board): added after -d so it is not filled.
tune2fs -q -O has_journal -J size=8 "$DF" >/dev/null 2>&1 || tune2fs -O has_journal "$DF" >/dev/null

# ---------------------------------------------------------------- card image
IMG=$W/hushbox.img
MIB=$((1024 * 1024))
TOTAL_MIB=$((BOOT_START_MIB + BOOT_MIB + DATA_MIB))
truncate -s "${TOTAL_MIB}M" "$IMG"
DATA_START_MIB=$((BOOT_START_MIB + BOOT_MIB))
sfdisk -q --no-reread --no-tell-kernel "$IMG" <<SFDISK
label: dos
label-id: 0x48555348
unit: sectors

start=$((BOOT_START_MIB * 2048)), size=$((BOOT_MIB * 2048)), type=c, bootable
start=$((DATA_START_MIB * 2048)), size=$((DATA_MIB * 2048)), type=83
SFDISK
dd if="$BF" of="$IMG" bs=1M seek="$BOOT_START_MIB" conv=notrunc status=none
dd if="$DF" of="$IMG" bs=1M seek="$DATA_START_MIB" conv=notrunc status=none
if [ "$BOARD" != rpi2 ]; then
	SPL=$DEB/usr/lib/u-boot/$UBOOT_DIR/u-boot-sunxi-with-spl.bin
	[ "$(stat -c %s "$SPL")" -lt $(((BOOT_START_MIB * 1024 - 8) * 1024)) ] || die "$SPL too big for the gap"
	dd if="$SPL" of="$IMG" bs=1024 seek=8 conv=notrunc status=none
fi

NAME=hushbox-$BOARD-$VERSION.img.zst
zstd -q -f -"$IMG_ZSTD_LEVEL" -T0 "$IMG" -o "$OUT/$NAME"
(cd "$OUT" && sha256sum "$NAME" >"$NAME.sha256")
T2=$(date +%s)

ISZ=$(stat -c %s "$W/initrd.img")
echo "image: $OUT/$NAME ($(stat -c %s "$OUT/$NAME") bytes; card $((TOTAL_MIB)) MiB; initramfs $ISZ bytes zstd, $(du -sb "$R" | cut -f1) bytes unpacked; $(echo "$paths" | wc -w) modules; initramfs ${T1}-${T0}=$((T1 - T0))s, total $((T2 - T0))s)"
[ "$ISZ" -lt $((16 * MIB)) ] || die "initramfs $ISZ bytes is over the 16 MiB target"
