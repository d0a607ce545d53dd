#!/usr/bin/env bash
# fetch-debs.sh: download the pinned Debian armhf packages the SD image is built
# from (rootfs/packages.lock) into build/debs and unpack them with dpkg -x into
# build/armhf. Nothing is installed system-wide for armhf: apt only downloads.
#
#   scripts/fetch-debs.sh            fetch + extract (cached: a second run is a no-op)
#   scripts/fetch-debs.sh --latest   print lock lines for what apt offers today
#
# Host tools (depmod from kmod, mkimage, mtools, ...) are installed with
# apt-get when missing and we are root; see docs/image.md for the list.
set -euo pipefail
cd "$(dirname "$0")/.."
LOCK=rootfs/packages.lock
DEBS=build/debs
ROOT=build/armhf
SOURCES=/etc/apt/sources.list.d/hushbox-non-free-firmware.sources

die() { echo "fetch-debs: $*" >&2; exit 1; }

# apt_mirror prints the Debian archive this machine's apt already uses (the
# first main-archive URI in its sources), so the entry added here points at
# the same mirror instead of naming one.
apt_mirror() {
	local u
	u="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v -e security -e '^$' | head -n1)"
	[ -n "$u" ] || u="$(grep -hs '^deb ' /etc/apt/sources.list | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' | grep -v security | head -n1)"
	[ -n "$u" ] || { echo "no Debian archive found in the apt sources" >&2; return 1; }
	echo "$u"
}

# apt_ready makes apt able to see armhf packages and the non-free-firmware
# component (raspi-firmware lives there). Run once; cheap when already done.
apt_ready() {
	local changed=0
	if ! dpkg --print-foreign-architectures | grep -qx armhf; then
		[ "$(id -u)" = 0 ] || die "need root to run: dpkg --add-architecture armhf"
		dpkg --add-architecture armhf
		changed=1
	fi
	if ! grep -rqs 'non-free-firmware' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		[ "$(id -u)" = 0 ] || die "need root to add the non-free-firmware component ($SOURCES)"
		local mirror
		mirror="$(apt_mirror)" || die "cannot add the non-free-firmware component: no Debian archive in the apt sources"
		cat >"$SOURCES" <<SRC
# Added by hushbox scripts/fetch-debs.sh: raspi-firmware (Pi 2 boot firmware).
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		changed=1
	fi
	if [ "$changed" = 1 ] || ! apt-cache show busybox-static:armhf >/dev/null 2>&1 || ! apt-cache show raspi-firmware >/dev/null 2>&1; then
		# A half-synced mirror index (often bookworm-security armhf) is a
		# warning: the pinned packages are then looked up in what was read.
		apt-get -o DPkg::Lock::Timeout=600 update -qq || echo "fetch-debs: apt-get update reported errors (continuing)" >&2
	fi
}

# host_tools installs the amd64 tools the image build needs when missing.
host_tools() {
	local need=()
	command -v depmod >/dev/null || [ -x /usr/sbin/depmod ] || [ -x /sbin/depmod ] || need+=(kmod)
	command -v mkimage >/dev/null || need+=(u-boot-tools)
	command -v mcopy >/dev/null || need+=(mtools)
	command -v mkfs.vfat >/dev/null || [ -x /usr/sbin/mkfs.vfat ] || [ -x /sbin/mkfs.vfat ] || need+=(dosfstools)
	command -v sfdisk >/dev/null || [ -x /usr/sbin/sfdisk ] || [ -x /sbin/sfdisk ] || need+=(fdisk)
	command -v cpio >/dev/null || need+=(cpio)
	command -v zstd >/dev/null || need+=(zstd)
	if [ "${#need[@]}" -gt 0 ]; then
		[ "$(id -u)" = 0 ] || die "missing host tools, install: apt-get install ${need[*]}"
		echo "fetch-debs: installing host tools: ${need[*]}" >&2
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
			die "apt-get install ${need[*]} failed"
	fi
}

# lock_lines prints "name:arch=version" lines of the lock file.
lock_lines() { grep -Ev '^[[:space:]]*(#|$)' "$LOCK"; }

# deb_file is the file name apt-get download gives a pinned package.
deb_file() {
	local name=${1%%:*} arch=${1#*:} ver=$2
	echo "${name}_${ver//:/%3a}_${arch}.deb"
}

latest() {
	apt_ready
	local kernel
	kernel=$(apt-cache depends linux-image-armmp:armhf | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	kernel=${kernel%:armhf}
	for p in "$kernel:armhf" busybox-static:armhf u-boot-sunxi:armhf u-boot-rpi:armhf raspi-firmware:all; do
		local n=${p%%:*} a=${p#*:} q=$p
		[ "$a" = all ] && q=$n
		echo "$p=$(apt-cache policy "$q" | awk '/Candidate:/{print $2}')"
	done
}

if [ "${1:-}" = --latest ]; then latest; exit 0; fi
[ -f "$LOCK" ] || die "$LOCK missing"
host_tools
mkdir -p "$DEBS"
missing=0
while IFS='=' read -r pkg ver; do
	[ -f "$DEBS/$(deb_file "$pkg" "$ver")" ] || missing=1
done < <(lock_lines)
if [ "$missing" = 1 ]; then
	apt_ready
	while IFS='=' read -r pkg ver; do
		f=$(deb_file "$pkg" "$ver")
		[ -f "$DEBS/$f" ] && continue
		q=$pkg
		[ "${pkg#*:}" = all ] && q=${pkg%%:*}
		echo "fetch-debs: downloading $q=$ver" >&2
		if ! (cd "$DEBS" && apt-get download -qq "$q=$ver" >/dev/null 2>"../debs.err"); then
			cat build/debs.err >&2
			die "pinned $pkg=$ver is not available any more (Debian replaced it). See what is offered with
  scripts/fetch-debs.sh --latest
then update $LOCK (and rootfs/modules/*.txt if the kernel ABI changed)."
		fi
		[ -f "$DEBS/$f" ] || die "apt-get download gave no $DEBS/$f"
	done < <(lock_lines)
fi

# Extract into build/armhf, once per lock file content.
stamp=$ROOT/.lock-sha256
want=$(sha256sum "$LOCK" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	while IFS='=' read -r pkg ver; do
		dpkg -x "$DEBS/$(deb_file "$pkg" "$ver")" "$ROOT"
	done < <(lock_lines)
	echo "$want" >"$stamp"
fi
echo "fetch-debs: $(lock_lines | wc -l) packages in $ROOT" >&2
