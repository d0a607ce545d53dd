package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// needTool finds an external tool; missing, it skips the test, except in CI
// (CI=true), where it fails it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing (CI=true): install it (apt-get install %s)", name, name)
		}
		t.Skipf("%s missing", name)
	}
	return p
}

func runTool(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// `make container`'s script builds the multi-platform image of the cloud
// peer; skopeo reads it (layout and archive, every platform) and copies
// it; umoci unpacks it rootless, and the unpacked binary runs and says its
// version and platform, configured to run as uid 65532.
func TestContainerImageWithSkopeoAndUmoci(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hushbox for three platforms")
	}
	skopeo := needTool(t, "skopeo")
	umoci := needTool(t, "umoci")
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("the unpacked binary runs on linux/amd64 or linux/arm64 hosts, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	const version = "v0.0.0-imagetest"
	runTool(t, root, []string{"OUT=" + out, "VERSION=" + version, "SOURCE_DATE_EPOCH=1700000000"}, "bash", "scripts/container.sh")
	layout := filepath.Join(out, "hushbox-cloud-oci")
	archive := filepath.Join(out, "hushbox-cloud-oci.tar")

	var raw Index
	if err := json.Unmarshal([]byte(runTool(t, root, nil, skopeo, "inspect", "--raw", "oci:"+layout+":latest")), &raw); err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, m := range raw.Manifests {
		if m.Platform != nil {
			plats = append(plats, m.Platform.String())
		}
	}
	if strings.Join(plats, " ") != "linux/amd64 linux/arm64 linux/arm/v7" {
		t.Fatalf("skopeo sees platforms %v", plats)
	}
	type inspected struct {
		Architecture, Os string
		Labels           map[string]string
		Env              []string
	}
	for _, ref := range []string{"oci:" + layout + ":latest", "oci-archive:" + archive + ":latest"} {
		var in inspected
		if err := json.Unmarshal([]byte(runTool(t, root, nil, skopeo, "inspect", ref)), &in); err != nil {
			t.Fatal(err)
		}
		if in.Os != "linux" || in.Architecture != runtime.GOARCH || in.Labels["org.opencontainers.image.version"] != version {
			t.Fatalf("skopeo inspect %s: %+v", ref, in)
		}
	}
	for _, arch := range []string{"amd64", "arm64", "arm"} {
		var in inspected
		if err := json.Unmarshal([]byte(runTool(t, root, nil, skopeo, "inspect", "--override-arch", arch, "oci:"+layout+":latest")), &in); err != nil {
			t.Fatal(err)
		}
		if in.Architecture != arch {
			t.Fatalf("asked skopeo for %s, got %s", arch, in.Architecture)
		}
	}
	runTool(t, root, nil, skopeo, "copy", "--all", "oci:"+layout+":latest", "dir:"+filepath.Join(out, "copy"))
	if _, err := os.Stat(filepath.Join(out, "copy", "manifest.json")); err != nil {
		t.Fatalf("skopeo copy to dir: %v", err)
	}

	bundle := filepath.Join(out, "bundle")
	runTool(t, root, nil, umoci, "unpack", "--rootless", "--image", layout+":latest-"+runtime.GOARCH, bundle)
	got := strings.TrimSpace(runTool(t, root, nil, filepath.Join(bundle, "rootfs", "hushbox"), "version"))
	if want := "hushbox " + version + " linux/" + runtime.GOARCH; got != want {
		t.Fatalf("unpacked hushbox version: %q, want %q", got, want)
	}
	var rt struct {
		Process struct {
			User struct{ UID, GID int }
			Args []string
		}
	}
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil || json.Unmarshal(b, &rt) != nil {
		t.Fatalf("runtime config: %v", err)
	}
	if rt.Process.User.UID != UID || rt.Process.User.GID != GID ||
		strings.Join(rt.Process.Args, " ") != "/hushbox serve --role cloud --data /data" {
		t.Fatalf("runtime config process: %+v", rt.Process)
	}
	// The other platforms' binaries run where user-mode qemu is installed.
	for _, q := range []struct{ arch, tag, qemu string }{
		{"arm64", "latest-arm64", "qemu-aarch64-static"},
		{"arm", "latest-arm-v7", "qemu-arm-static"},
	} {
		if q.arch == runtime.GOARCH {
			continue
		}
		qemu, err := exec.LookPath(q.qemu)
		if err != nil {
			t.Logf("%s missing: the %s binary not run", q.qemu, q.arch)
			continue
		}
		b := filepath.Join(out, "bundle-"+q.arch)
		runTool(t, root, nil, umoci, "unpack", "--rootless", "--image", layout+":"+q.tag, b)
		got := strings.TrimSpace(runTool(t, root, nil, qemu, filepath.Join(b, "rootfs", "hushbox"), "version"))
		if want := "hushbox " + version + " linux/" + q.arch; got != want {
			t.Fatalf("%s binary under %s: %q, want %q", q.arch, q.qemu, got, want)
		}
	}
}
