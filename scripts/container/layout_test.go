package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParsePlatform(t *testing.T) {
	tests := []struct {
		in   string
		want Platform
		bad  bool
	}{
		{in: "linux/amd64", want: Platform{OS: "linux", Architecture: "amd64"}},
		{in: "linux/arm64", want: Platform{OS: "linux", Architecture: "arm64"}},
		{in: "linux/arm/v7", want: Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		{in: "linux/arm", bad: true},
		{in: "windows/amd64", bad: true},
		{in: "linux/mips", bad: true},
		{in: "linux", bad: true},
		{in: "linux/amd64/v3/x", bad: true},
	}
	for _, tc := range tests {
		got, err := ParsePlatform(tc.in)
		if tc.bad != (err != nil) || (!tc.bad && got != tc.want) {
			t.Errorf("ParsePlatform(%q) = %+v, %v", tc.in, got, err)
		}
		if !tc.bad && got.String() != tc.in {
			t.Errorf("%q prints as %q", tc.in, got.String())
		}
	}
}

// readBlob reads a blob of layout dir and checks it against its digest and size.
func readBlob(t *testing.T, dir string, d Descriptor) []byte {
	t.Helper()
	hexsum, ok := strings.CutPrefix(d.Digest, "sha256:")
	if !ok {
		t.Fatalf("digest %q is not sha256", d.Digest)
	}
	data, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", hexsum))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != hexsum || int64(len(data)) != d.Size {
		t.Fatalf("blob %s: content does not match its descriptor", d.Digest)
	}
	return data
}

func writeFakeBinaries(t *testing.T, dir string, plats ...string) []imageInput {
	t.Helper()
	var ins []imageInput
	for _, s := range plats {
		p, err := ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, strings.ReplaceAll(s, "/", "-"))
		if err := os.WriteFile(path, []byte("\x7fELF fake hushbox for "+s), 0o755); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, imageInput{Platform: p, Binary: path})
	}
	return ins
}

// The layout holds a multi-platform index under the tag, one image per
// platform under TAG-ARCH, every blob matching its digest, and each image
// configured as the cloud peer: non-root, the binary as entrypoint, the
// ports and the /data volume.
func TestWriteLayout(t *testing.T) {
	tmp := t.TempDir()
	ins := writeFakeBinaries(t, tmp, "linux/amd64", "linux/arm64", "linux/arm/v7")
	dir := filepath.Join(tmp, "oci")
	spec := DefaultSpec()
	spec.Version = "v1.2.3"
	spec.Created = time.Unix(1700000000, 0)
	digest, err := WriteLayout(dir, "latest", spec, ins)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "oci-layout")); err != nil || !strings.Contains(string(b), `"imageLayoutVersion":"1.0.0"`) {
		t.Fatalf("oci-layout: %q %v", b, err)
	}
	var top Index
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil || json.Unmarshal(b, &top) != nil {
		t.Fatalf("index.json: %v %s", err, b)
	}
	if top.SchemaVersion != 2 || len(top.Manifests) != 4 {
		t.Fatalf("index.json has %d entries, want the index and 3 images: %s", len(top.Manifests), b)
	}
	multi := top.Manifests[0]
	if multi.MediaType != MediaIndex || multi.Digest != digest || multi.Annotations[refNameKey] != "latest" {
		t.Fatalf("first entry is not the tagged multi-platform index: %+v", multi)
	}
	var idx Index
	if err := json.Unmarshal(readBlob(t, dir, multi), &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 3 {
		t.Fatalf("multi-platform index has %d images", len(idx.Manifests))
	}
	for i, md := range idx.Manifests {
		in := ins[i]
		if md.Platform == nil || *md.Platform != in.Platform || md.MediaType != MediaManifest {
			t.Fatalf("image %d: %+v, want platform %s", i, md, in.Platform)
		}
		if tagged := top.Manifests[i+1]; tagged.Digest != md.Digest || tagged.Annotations[refNameKey] != PlatformTag("latest", in.Platform) {
			t.Fatalf("index.json entry %d: %+v", i+1, tagged)
		}
		var m Manifest
		if err := json.Unmarshal(readBlob(t, dir, md), &m); err != nil || len(m.Layers) != 1 || m.Config.MediaType != MediaConfig {
			t.Fatalf("manifest %s: %v %+v", in.Platform, err, m)
		}
		var c ImageConfig
		if err := json.Unmarshal(readBlob(t, dir, m.Config), &c); err != nil {
			t.Fatal(err)
		}
		if c.OS != "linux" || c.Architecture != in.Platform.Architecture || c.Variant != in.Platform.Variant {
			t.Fatalf("config platform %s/%s/%s, want %s", c.OS, c.Architecture, c.Variant, in.Platform)
		}
		if c.Config.User != "65532:65532" || !slices.Equal(c.Config.Entrypoint, []string{"/hushbox"}) ||
			!slices.Equal(c.Config.Cmd, []string{"serve", "--role", "cloud", "--data", "/data"}) {
			t.Fatalf("run config: %+v", c.Config)
		}
		if _, ok := c.Config.Volumes["/data"]; !ok {
			t.Fatal("no /data volume")
		}
		for _, p := range []string{"5060/udp", "5060/tcp", "5061/tcp", "8443/tcp", "20000/udp", "20099/udp"} {
			if _, ok := c.Config.ExposedPorts[p]; !ok {
				t.Errorf("port %s not exposed", p)
			}
		}
		if c.Config.Labels["org.opencontainers.image.version"] != "v1.2.3" || c.Created != "2023-11-14T22:13:20Z" {
			t.Fatalf("version label or created: %+v %q", c.Config.Labels, c.Created)
		}
		layer := readBlob(t, dir, m.Layers[0])
		files, diffID := readLayer(t, layer)
		if len(c.RootFS.DiffIDs) != 1 || c.RootFS.DiffIDs[0] != diffID {
			t.Fatalf("diff_ids %v, layer's %s", c.RootFS.DiffIDs, diffID)
		}
		bin, _ := os.ReadFile(in.Binary)
		if h := files["hushbox"]; h == nil || h.Mode != 0o755 || string(h.body) != string(bin) {
			t.Fatalf("/hushbox in the layer: %+v", h)
		}
		if d := files["data/"]; d == nil || d.Uid != UID || d.Gid != GID || d.Mode != 0o700 {
			t.Fatalf("/data in the layer: %+v", d)
		}
		if p := files["etc/passwd"]; p == nil || !strings.Contains(string(p.body), "nonroot:x:65532:65532:") {
			t.Fatalf("/etc/passwd lacks the non-root user: %+v", p)
		}
	}
}

type layerFile struct {
	*tar.Header
	body []byte
}

// readLayer lists a gzip tar layer and returns its diff ID.
func readLayer(t *testing.T, gz []byte) (map[string]*layerFile, string) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*layerFile{}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		files[h.Name] = &layerFile{h, body}
	}
	sum := sha256.Sum256(raw)
	return files, "sha256:" + hex.EncodeToString(sum[:])
}

// The same binaries and time give the same image, byte for byte, and the
// tar of the layout holds every file of it.
func TestLayoutReproducibleAndTar(t *testing.T) {
	tmp := t.TempDir()
	ins := writeFakeBinaries(t, tmp, "linux/amd64", "linux/arm64")
	spec := DefaultSpec()
	spec.Created = time.Unix(1, 0)
	d1, err := WriteLayout(filepath.Join(tmp, "a"), "latest", spec, ins)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := WriteLayout(filepath.Join(tmp, "b"), "latest", spec, ins)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Fatalf("two builds differ: %s %s", d1, d2)
	}
	tarPath := filepath.Join(tmp, "a.tar")
	if err := TarDir(filepath.Join(tmp, "a"), tarPath, spec.Created); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	blobs, _ := os.ReadDir(filepath.Join(tmp, "a", "blobs", "sha256"))
	if !slices.Contains(names, "index.json") || !slices.Contains(names, "oci-layout") || len(names) != 4+len(blobs) {
		t.Fatalf("tar holds %v (%d blobs)", names, len(blobs))
	}
}

func TestWriteLayoutRefusesBadInput(t *testing.T) {
	tmp := t.TempDir()
	ins := writeFakeBinaries(t, tmp, "linux/amd64")
	if _, err := WriteLayout(filepath.Join(tmp, "x"), "latest", DefaultSpec(), append(ins, ins[0])); err == nil {
		t.Error("a platform given twice was accepted")
	}
	if _, err := WriteLayout(filepath.Join(tmp, "y"), "latest", DefaultSpec(), []imageInput{{Platform: ins[0].Platform, Binary: filepath.Join(tmp, "missing")}}); err == nil {
		t.Error("a missing binary was accepted")
	}
	if _, err := WriteLayout(filepath.Join(tmp, "z"), "latest", DefaultSpec(), nil); err == nil {
		t.Error("no platforms accepted")
	}
}

// The image publishes the media ports the cloud role relays on.
func TestRTPRangeMatchesCloudRole(t *testing.T) {
	src, err := os.ReadFile("../../cmd/hushbox/role.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`cloudRTPPorts = "(\d+)-(\d+)"`).FindStringSubmatch(string(src))
	if m == nil || m[1] != strconv.Itoa(RTPLo) || m[2] != strconv.Itoa(RTPHi) {
		t.Fatalf("cmd/hushbox cloud RTP range %v, image's %d-%d", m, RTPLo, RTPHi)
	}
}
