#!/usr/bin/env bash
# container.sh: the cloud peer's OCI image without a Docker daemon (make container).
#
# Builds a static, pure-Go hushbox for each platform, then writes
#   $OUT/hushbox-cloud-oci/      OCI image layout, tag "latest" (multi-platform index)
#   $OUT/hushbox-cloud-oci.tar   the same layout as a tar (oci-archive)
# with scripts/container (go run): FROM scratch, uid 65532, entrypoint
# /hushbox serve --role cloud --data /data. See docs/cloud.md.
#
# Environment:
#   OUT=out                      where the image goes
#   PLATFORMS="linux/amd64 linux/arm64 linux/arm/v7"
#   VERSION=<git describe>       version stamped into the binaries and the image label
#   SOURCE_DATE_EPOCH=<commit time>  file and config times (reproducible output)
#   GO=go
set -euo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
OUT="${OUT:-out}"
PLATFORMS="${PLATFORMS:-linux/amd64 linux/arm64 linux/arm/v7}"
VERSION="${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}"
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"

bindir="$OUT/container-bin"
mkdir -p "$bindir"
args=()
for plat in $PLATFORMS; do
	IFS=/ read -r os arch variant <<<"$plat"
	if [ "$os" != linux ]; then echo "container.sh: $plat: only linux images" >&2; exit 2; fi
	bin="$bindir/hushbox-${os}-${arch}${variant:+-$variant}"
	goarm=""
	if [ "$arch" = arm ]; then goarm="${variant#v}"; goarm="${goarm:-7}"; fi
	echo "container.sh: building $plat" >&2
	CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" GOARM="$goarm" \
		"$GO" build -trimpath -tags netgo,osusergo \
		-ldflags "-s -w -X hushbox/pbx/buildinfo.Version=$VERSION" -o "$bin" ./cmd/hushbox
	args+=(--bin "$plat=$bin")
done

"$GO" run ./scripts/container --out "$OUT/hushbox-cloud-oci" --tar "$OUT/hushbox-cloud-oci.tar" \
	--tag latest --version "$VERSION" --created "$SOURCE_DATE_EPOCH" "${args[@]}"
