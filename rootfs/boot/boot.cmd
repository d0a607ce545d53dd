# hushbox U-Boot boot script (hush syntax), compiled to boot.scr with
#   mkimage -A arm -T script -C none -n hushbox -d boot.cmd boot.scr
# Run by U-Boot's distro boot on all three boards (the Pi 2 through Debian's
# u-boot-rpi), which sets devtype, devnum and distro_bootpart for us.
# Boot partition contract (docs/image.md): vmlinuz, <board>.dtb, initrd-a.img,
# initrd-b.img, hushbox.env (env import -t text: slot=, try=, tries=).

setenv hbpart ${devtype} ${devnum}:${distro_bootpart}
if test -z "${devtype}"; then setenv hbpart mmc 0:1; fi

# Defaults, then whatever hushbox.env says.
setenv slot a
setenv try
setenv tries 0
if load ${hbpart} ${scriptaddr} hushbox.env; then
	env import -t ${scriptaddr} ${filesize} slot try tries
fi

# ---- A/B slot selection (owned by the update work, docs/update.md) ----
# In: slot (known good), try (slot to test-boot or empty), tries (left).
# Out: bootslot = the slot to boot now.
# A test boot uses up one try, and that is saved to hushbox.env BEFORE the
# kernel starts: a test boot that hangs, crashes or is never marked good
# (the daemon does that once healthy: pbx/update.MarkGood) falls back to
# ${slot} at the next boot, where tries=0 clears try.
if test "${slot}" != "b"; then setenv slot a; fi
setenv bootslot ${slot}
if test "${try}" = "a" -o "${try}" = "b"; then
	if test -z "${tries}"; then setenv tries 0; fi
	if test ${tries} -gt 0; then
		setexpr tries ${tries} - 1
		setenv bootslot ${try}
		echo "hushbox: test boot of slot ${try} (${tries} more left)"
	else
		echo "hushbox: test boot of slot ${try} used up; falling back to slot ${slot}"
		setenv try
	fi
	# Carry hushbox's own keys (board, slot versions) through the rewrite.
	if load ${hbpart} ${ramdisk_addr_r} hushbox.env; then
		env import -t ${ramdisk_addr_r} ${filesize} hb_board hb_ver_a hb_ver_b
	fi
	env export -t ${ramdisk_addr_r} slot try tries hb_board hb_ver_a hb_ver_b
	if fatwrite ${hbpart} ${ramdisk_addr_r} hushbox.env ${filesize}; then
		true
	else
		# Without a saved count a test boot could repeat forever.
		echo "hushbox: cannot save hushbox.env; booting slot ${slot}"
		setenv bootslot ${slot}
	fi
fi
# ---- end of A/B slot selection ----

echo "hushbox: booting slot ${bootslot}"
load ${hbpart} ${kernel_addr_r} vmlinuz
# The Pi's firmware hands U-Boot a device tree (config.txt device_tree=);
# elsewhere load the board's own from the boot partition.
if test -n "${fdt_addr}"; then
	setenv hbfdt ${fdt_addr}
else
	load ${hbpart} ${fdt_addr_r} ${fdtfile}
	setenv hbfdt ${fdt_addr_r}
fi
# No console= here: the kernel uses the device tree's stdout-path.
setenv bootargs "hushbox.slot=${bootslot} panic=10 quiet loglevel=4"
load ${hbpart} ${ramdisk_addr_r} initrd-${bootslot}.img
bootz ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${hbfdt}
echo "hushbox: boot of slot ${bootslot} failed"
