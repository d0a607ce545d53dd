package imagetest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestScriptsParse checks the shell of the image and its build for syntax
// errors, without building or booting anything: /init and the udhcpc script
// (POSIX sh, run by busybox ash) and the bash build scripts.
func TestScriptsParse(t *testing.T) {
	root := repoRoot(t)
	cases := []struct{ shell, file string }{
		{"sh", "rootfs/init"},
		{"sh", "rootfs/etc/udhcpc.script"},
		{"bash", "scripts/image.sh"},
		{"bash", "scripts/fetch-debs.sh"},
		{"bash", "scripts/qemu-boot.sh"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			if out, err := exec.Command(tc.shell, "-n", filepath.Join(root, tc.file)).CombinedOutput(); err != nil {
				t.Errorf("%s -n %s: %v\n%s", tc.shell, tc.file, err, out)
			}
		})
	}
}
