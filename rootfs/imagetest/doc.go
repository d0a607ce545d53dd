// Package imagetest holds the tests of the SD card image (scripts/image.sh)
// and of the appliance's root file system (rootfs/): the partition table, the
// boot partition's files, the A20 SPL at 8 KiB and the initramfs listing of
// built images, and boots of the image's kernel and initramfs under
// qemu-system-arm (-M virt with networking, -M raspi2b with the Pi 2 DTB).
//
// The package has no code of its own beyond these helpers: the thing under
// test is the shell and the image the scripts produce. Images are built once
// per run and cached in build/imagetest, keyed by a hash of their inputs.
// With CI=true a missing host tool (qemu-system-arm, mtools, sfdisk, ...) is
// a failure, elsewhere a skip; `go test -short` skips the builds and boots.
package imagetest
