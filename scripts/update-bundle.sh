#!/usr/bin/env bash
# scripts/update-bundle.sh BOARD [INITRD]: sign BOARD's initramfs into a
# firmware update bundle for the web page's Update page (or
# `hushbox update install`):
#   out/hushbox-BOARD-VERSION.hbup and its .sha256
# INITRD defaults to build/image/BOARD/initrd.img (`make image BOARD=...`).
# The bundle is signed with the release key (RELEASE_KEY, default
# build/release-key from `make release-key`); boxes check it against the
# public key their image carries (rootfs/keys/release.pub ->
# /etc/hushbox/release.pub). Format: docs/update.md.
# Env: VERSION (default git describe), OUT (default out), HUSHBOX (the host
# binary, default bin/hushbox), RELEASE_KEY.
set -euo pipefail
cd "$(dirname "$0")/.."

BOARD=${1:?usage: scripts/update-bundle.sh BOARD [INITRD]}
INITRD=${2:-build/image/$BOARD/initrd.img}
KEY=${RELEASE_KEY:-build/release-key}
VERSION=${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}
OUT=${OUT:-out}
HUSHBOX=${HUSHBOX:-bin/hushbox}

die() { echo "update-bundle: $*" >&2; exit 1; }
case "$BOARD" in rpi2|cubieboard2|cubietruck) ;; *) die "unknown board '$BOARD' (rpi2, cubieboard2, cubietruck)";; esac
[ -f "$INITRD" ] || die "$INITRD missing: run make image BOARD=$BOARD first"
[ -f "$KEY" ] || die "release key $KEY missing: run make release-key"
[ -x "$HUSHBOX" ] || die "$HUSHBOX missing: run make build"

mkdir -p "$OUT"
# A bundle signed with a key other than the one in the image would be
# refused by every box: say so now.
"$HUSHBOX" update keygen --out "$KEY" --pub "$OUT/.release-key.pub" >/dev/null
if [ -f rootfs/keys/release.pub ] && ! cmp -s "$OUT/.release-key.pub" rootfs/keys/release.pub; then
	die "$KEY does not match rootfs/keys/release.pub (the key images carry); boxes would refuse the bundle"
fi

NAME=hushbox-$BOARD-$VERSION.hbup
"$HUSHBOX" update sign --key "$KEY" --version "$VERSION" --board "$BOARD" --out "$OUT/$NAME" "$INITRD"
"$HUSHBOX" update verify --update-key "$OUT/.release-key.pub" --board "$BOARD" "$OUT/$NAME"
rm -f "$OUT/.release-key.pub"
(cd "$OUT" && sha256sum "$NAME" >"$NAME.sha256")
echo "update-bundle: $OUT/$NAME ($(stat -c %s "$OUT/$NAME") bytes)"
