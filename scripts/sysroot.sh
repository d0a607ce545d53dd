#!/usr/bin/env bash
# scripts/sysroot.sh: static alsa-lib + PortAudio for the ARMv7 cgo build.
#
#   scripts/sysroot.sh            build (or reuse) build/sysroot-armhf
#
# Debian's own sources (apt-get source alsa-lib portaudio19, unpacked with
# Debian's patches into build/src) are cross-compiled with
# arm-linux-gnueabihf-gcc as static libraries only and installed with
# DESTDIR into build/sysroot-armhf/usr/{include,lib,share/alsa}.
#
# The result is cached: a stamp file records the source versions and the
# options; a second run with the same inputs does nothing. Delete
# build/sysroot-armhf (or `make clean-sysroot`) to rebuild.
#
# alsa-lib looks for its configuration in /usr/share/alsa (alsa.conf, compiled
# in) and /etc/asound.conf on the appliance: rootfs/alsa holds both; the
# alsa.conf that matches the library is also installed under
# build/sysroot-armhf/usr/share/alsa.
#
# Needs: gcc-arm-linux-gnueabihf, libc6-dev-armhf-cross, dpkg-dev (dpkg-source),
# make, pkg-config, and a deb-src entry. As root (CI on a fresh Debian) missing packages are
# installed and the deb-src entry is added under /etc/apt/sources.list.d/;
# otherwise the script says what is missing and stops.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
host=arm-linux-gnueabihf
sysroot="$root/build/sysroot-armhf"
src="$root/build/src"
jobs="$(nproc 2>/dev/null || echo 2)"

# The options below are part of the cache key: change one and the sysroot is rebuilt.
# alsa-lib: static, so its pcm plugins (hw, plug, rate, dmix, dsnoop, file,
# null, asym, ...) are built in; without libdl, so a static binary never
# dlopen()s (no external plugin modules on the appliance anyway).
alsa_opts=(--enable-static --disable-shared --disable-python --without-debug
	--disable-alisp --disable-topology --disable-ucm --disable-rawmidi --disable-hwdep
	--disable-seq --disable-aload --without-libdl --with-pcm-plugins=all --with-ctl-plugins=all
	--with-configdir=/usr/share/alsa --with-plugindir=/usr/lib/alsa-lib)
pa_opts=(--with-alsa --without-jack --without-oss --without-asihpi
	--enable-static --disable-shared)
# ARMv7 hard-float with VFPv3-D16 (Debian armhf's baseline: Cortex-A7 of the
# Pi 2 and the Allwinner A20); source paths in messages (__FILE__) relative
# to build/src, so the binary does not depend on where it was built.
cflags="-O2 -march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard -ffile-prefix-map=$src/="

log() { echo "sysroot: $*" >&2; }
die() { log "$*"; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# need_pkgs installs (as root) or names (otherwise) the Debian packages that
# provide the missing commands.
need_pkgs() {
	local missing=()
	command -v "$host-gcc" >/dev/null || missing+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
	command -v dpkg-source >/dev/null || missing+=(dpkg-dev)
	command -v make >/dev/null || missing+=(make)
	command -v pkg-config >/dev/null || missing+=(pkg-config) # for `go build` of the cgo binding
	[ ${#missing[@]} -eq 0 ] && return 0
	if ! is_root; then
		die "missing tools; install: apt-get install ${missing[*]}"
	fi
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

# have_src: does apt know source packages (a deb-src entry)?
have_src() { [ -n "$(apt-cache showsrc alsa-lib 2>/dev/null)" ]; }

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

ensure_deb_src() {
	have_src && return 0
	is_root || die "no deb-src entry; as root add one (Types: deb-src) under /etc/apt/sources.list.d/ and apt-get update"
	local codename list=/etc/apt/sources.list.d/hushbox-deb-src.sources
	codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
	log "adding $list ($codename) and running apt-get update"
	local mirror
	mirror="$(apt_mirror)" || die "cannot add a deb-src entry: no Debian archive in the apt sources"
	cat >"$list" <<EOF
# Added by hushbox scripts/sysroot.sh: Debian sources of alsa-lib and portaudio19
# for the static ARMv7 build.
Types: deb-src
URIs: $mirror
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	apt-get update >&2 || log "apt-get update reported errors (see above); going on if the sources are known"
	have_src || die "apt still knows no source packages after adding $list"
}

# srcdir PKG: the unpacked source tree of PKG in build/src (fetched once).
srcdir() {
	local pkg="$1" ver dir
	ver="$(apt-cache showsrc "$pkg" | awk '/^Version:/ && !v {v = $2} END {print v}')"
	[ -n "$ver" ] || die "no source version for $pkg"
	ver="${ver#*:}"          # epoch
	dir="$src/$pkg-${ver%-*}" # upstream version
	if [ ! -f "$dir/.fetched" ]; then
		mkdir -p "$src"
		log "apt-get source $pkg ($ver)"
		rm -rf "$dir"
		(cd "$src" && apt-get source -qq "$pkg=$ver" >&2)
		[ -d "$dir" ] || die "apt-get source $pkg did not unpack $dir"
		touch "$dir/.fetched"
	fi
	echo "$dir"
}

# One build at a time: `make arm` may run from several make invocations.
mkdir -p "$root/build"
exec 9>"$root/build/.sysroot.lock"
if ! flock -n 9; then
	log "waiting for another sysroot build"
	flock 9
fi

need_pkgs
ensure_deb_src

alsa_src="$(srcdir alsa-lib)"
pa_src="$(srcdir portaudio19)"
key="$(basename "$alsa_src") $(basename "$pa_src") $host ${alsa_opts[*]} ${pa_opts[*]} ${cflags//$src\//}"
stamp="$sysroot/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] &&
	[ -f "$sysroot/usr/lib/libasound.a" ] && [ -f "$sysroot/usr/lib/libportaudio.a" ]; then
	log "up to date: $sysroot"
	exit 0
fi

start=$SECONDS
# Build into a fresh directory and swap it in at the end: a go build using
# the old sysroot meanwhile never sees a half-built one.
final="$sysroot"
sysroot="$final.new"
rm -rf "$sysroot"
mkdir -p "$sysroot"
export CC="$host-gcc" AR="$host-ar" RANLIB="$host-ranlib"
export CFLAGS="$cflags"

# Out-of-tree builds keep build/src pristine for the next run.
log "alsa-lib: configure + make (-j$jobs)"
rm -rf "$src/build-alsa-lib" && mkdir -p "$src/build-alsa-lib"
(
	cd "$src/build-alsa-lib"
	"$alsa_src/configure" --host="$host" --prefix=/usr "${alsa_opts[@]}" >configure.log 2>&1 ||
		{ tail -30 configure.log; exit 1; }
	make -j"$jobs" -C include >make.log 2>&1 && make -j"$jobs" -C src >>make.log 2>&1 ||
		{ tail -30 make.log; exit 1; }
	make -C include install DESTDIR="$sysroot" >>make.log 2>&1
	make -C src install DESTDIR="$sysroot" >>make.log 2>&1
	make -C src/conf install DESTDIR="$sysroot" >>make.log 2>&1
	make -C utils install-pkgconfigDATA DESTDIR="$sysroot" >>make.log 2>&1 ||
		{ tail -30 make.log; exit 1; }
) || die "alsa-lib build failed (build/src/build-alsa-lib/*.log)"

log "portaudio: configure + make (-j$jobs)"
rm -rf "$src/build-portaudio" && cp -a "$pa_src" "$src/build-portaudio"
(
	cd "$src/build-portaudio"
	# PortAudio's configure looks for ALSA with plain compiler checks.
	CPPFLAGS="-I$sysroot/usr/include" LDFLAGS="-L$sysroot/usr/lib" LIBS="-lm -ldl -lpthread -lrt" \
		./configure --host="$host" --prefix=/usr "${pa_opts[@]}" >configure.log 2>&1 ||
		{ tail -30 configure.log; exit 1; }
	grep -q 'ALSA.*yes' configure.log || { grep -i alsa configure.log; echo "ALSA not found"; exit 1; }
	make -j"$jobs" lib/libportaudio.la >make.log 2>&1 || { tail -30 make.log; exit 1; }
	install -D -m 644 lib/.libs/libportaudio.a "$sysroot/usr/lib/libportaudio.a"
	install -D -m 644 include/portaudio.h "$sysroot/usr/include/portaudio.h"
	install -D -m 644 portaudio-2.0.pc "$sysroot/usr/lib/pkgconfig/portaudio-2.0.pc"
) || die "portaudio build failed (build/src/build-portaudio/*.log)"

rm -f "$sysroot"/usr/lib/*.la "$sysroot"/usr/lib/pkgconfig/alsa-topology.pc
echo "$key" >"$sysroot/.stamp"
rm -rf "$final.old"
if [ -d "$final" ]; then mv "$final" "$final.old"; fi
mv "$sysroot" "$final"
rm -rf "$final.old"
log "built $final in $((SECONDS - start)) s"
