package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// OCI media types (image-spec v1.1).
const (
	MediaIndex    = "application/vnd.oci.image.index.v1+json"
	MediaManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaConfig   = "application/vnd.oci.image.config.v1+json"
	MediaLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
	refNameKey    = "org.opencontainers.image.ref.name"
)

// Descriptor points at a blob by digest.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *Platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Index is an OCI image index (index.json and the multi-platform index).
type Index struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Manifests     []Descriptor      `json:"manifests"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Manifest is an OCI image manifest: one config, its layers.
type Manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
}

// ImageConfig is the OCI image configuration (the parts hushbox uses).
type ImageConfig struct {
	Created      string `json:"created"`
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
	Config       struct {
		User         string              `json:"User"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		Env          []string            `json:"Env"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Volumes      map[string]struct{} `json:"Volumes"`
		WorkingDir   string              `json:"WorkingDir"`
		Labels       map[string]string   `json:"Labels"`
		StopSignal   string              `json:"StopSignal"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []struct {
		Created   string `json:"created"`
		CreatedBy string `json:"created_by"`
	} `json:"history"`
}

// imageInput is one platform's binary.
type imageInput struct {
	Platform Platform
	Binary   string
}

// blobs writes content-addressed blobs into a layout directory.
type blobs struct{ dir string }

func (b blobs) put(mediaType string, data []byte) (Descriptor, error) {
	sum := sha256.Sum256(data)
	hexsum := hex.EncodeToString(sum[:])
	p := filepath.Join(b.dir, "blobs", "sha256", hexsum)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return Descriptor{}, fmt.Errorf("write blob: %w", err)
	}
	return Descriptor{MediaType: mediaType, Digest: "sha256:" + hexsum, Size: int64(len(data))}, nil
}

func (b blobs) putJSON(mediaType string, v any) (Descriptor, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Descriptor{}, fmt.Errorf("encode %s: %w", mediaType, err)
	}
	return b.put(mediaType, data)
}

// WriteLayout replaces dir with an OCI image layout holding one image per
// input under one multi-platform index tagged tag, and returns the digest of
// that index.
func WriteLayout(dir, tag string, spec Spec, inputs []imageInput) (string, error) {
	if len(inputs) == 0 {
		return "", fmt.Errorf("no platforms")
	}
	seen := map[string]bool{}
	for _, in := range inputs {
		if seen[in.Platform.String()] {
			return "", fmt.Errorf("platform %s given twice", in.Platform)
		}
		seen[in.Platform.String()] = true
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clear %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return "", fmt.Errorf("layout: %w", err)
	}
	b := blobs{dir}
	var manifests []Descriptor
	for _, in := range inputs {
		bin, err := os.ReadFile(in.Binary)
		if err != nil {
			return "", fmt.Errorf("%s binary: %w", in.Platform, err)
		}
		layer, diffID, err := Layer(bin, spec.Created)
		if err != nil {
			return "", fmt.Errorf("%s layer: %w", in.Platform, err)
		}
		ld, err := b.put(MediaLayer, layer)
		if err != nil {
			return "", err
		}
		cd, err := b.putJSON(MediaConfig, imageConfig(spec, in.Platform, diffID))
		if err != nil {
			return "", err
		}
		md, err := b.putJSON(MediaManifest, Manifest{SchemaVersion: 2, MediaType: MediaManifest, Config: cd, Layers: []Descriptor{ld}})
		if err != nil {
			return "", err
		}
		p := in.Platform
		md.Platform = &p
		manifests = append(manifests, md)
	}
	multi, err := b.putJSON(MediaIndex, Index{SchemaVersion: 2, MediaType: MediaIndex, Manifests: manifests})
	if err != nil {
		return "", err
	}
	multi.Annotations = map[string]string{refNameKey: tag}
	// TAG names the multi-platform index (skopeo, containerd and Docker
	// pick their platform from it); TAG-ARCH[-VARIANT] names each image,
	// for tools that want a single manifest (umoci 0.4 calls a tag that
	// leads to several "ambiguous").
	entries := []Descriptor{multi}
	for _, m := range manifests {
		m.Annotations = map[string]string{refNameKey: PlatformTag(tag, *m.Platform)}
		entries = append(entries, m)
	}
	top, err := json.Marshal(Index{SchemaVersion: 2, MediaType: MediaIndex, Manifests: entries})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), top, 0o644); err != nil {
		return "", fmt.Errorf("index.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return "", fmt.Errorf("oci-layout: %w", err)
	}
	return multi.Digest, nil
}

// PlatformTag is the reference name of one platform's image in the
// layout: "latest-amd64", "latest-arm64", "latest-arm-v7".
func PlatformTag(tag string, p Platform) string {
	s := tag + "-" + p.Architecture
	if p.Variant != "" {
		s += "-" + p.Variant
	}
	return s
}

// imageConfig is the config of one platform's image.
func imageConfig(spec Spec, p Platform, diffID string) ImageConfig {
	var c ImageConfig
	created := spec.Created.UTC().Format(time.RFC3339)
	c.Created = created
	c.OS, c.Architecture, c.Variant = p.OS, p.Architecture, p.Variant
	c.Config.User = spec.User
	c.Config.Entrypoint = spec.Entrypoint
	c.Config.Cmd = spec.Cmd
	c.Config.Env = spec.Env
	c.Config.WorkingDir = spec.WorkingDir
	c.Config.StopSignal = "SIGTERM"
	c.Config.ExposedPorts = map[string]struct{}{}
	for _, port := range spec.Ports {
		c.Config.ExposedPorts[port] = struct{}{}
	}
	c.Config.Volumes = map[string]struct{}{}
	for _, v := range spec.Volumes {
		c.Config.Volumes[v] = struct{}{}
	}
	c.Config.Labels = map[string]string{"org.opencontainers.image.version": spec.Version}
	for k, v := range spec.Labels {
		c.Config.Labels[k] = v
	}
	c.RootFS.Type = "layers"
	c.RootFS.DiffIDs = []string{diffID}
	c.History = append(c.History, struct {
		Created   string `json:"created"`
		CreatedBy string `json:"created_by"`
	}{created, "scripts/container (hushbox " + spec.Version + ")"})
	return c
}

// Layer is the image's only layer, gzip-compressed, and the diff ID (the
// digest of the uncompressed tar): the binary at /hushbox, /data owned by
// the non-root user, /tmp, and /etc/passwd and /etc/group naming that user
// (a FROM scratch image has no other file).
func Layer(binary []byte, mtime time.Time) ([]byte, string, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	hdr := func(h *tar.Header, body []byte) error {
		h.ModTime = mtime
		h.Format = tar.FormatPAX
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	uid, gid := strconv.Itoa(UID), strconv.Itoa(GID)
	passwd := "root:x:0:0:root:/:/sbin/nologin\nnonroot:x:" + uid + ":" + gid + ":hushbox:" + DataDir + ":/sbin/nologin\n"
	group := "root:x:0:\nnonroot:x:" + gid + ":\n"
	entries := []struct {
		h    tar.Header
		body []byte
	}{
		{tar.Header{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o700, Uid: UID, Gid: GID}, nil},
		{tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644}, []byte(group)},
		{tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644}, []byte(passwd)},
		{tar.Header{Name: "hushbox", Typeflag: tar.TypeReg, Mode: 0o755}, binary},
		{tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil},
	}
	for _, e := range entries {
		if err := hdr(&e.h, e.body); err != nil {
			return nil, "", fmt.Errorf("tar %s: %w", e.h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	diff := sha256.Sum256(raw.Bytes())
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, "", err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return gz.Bytes(), "sha256:" + hex.EncodeToString(diff[:]), nil
}

// TarDir writes the files under dir as a tar (an oci-archive when dir is a
// layout), in name order with a fixed time so the tar is reproducible.
func TarDir(dir, tarPath string, mtime time.Time) (err error) {
	var names []string
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			names = append(names, p)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("walk %s: %w", dir, err)
	}
	sort.Strings(names)
	tmp := tarPath + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("create %s: %w", tarPath, err)
	}
	defer func() {
		f.Close()
		if err != nil {
			os.Remove(tmp)
		}
	}()
	tw := tar.NewWriter(f)
	for _, p := range names {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Mode: 0o644, Typeflag: tar.TypeReg, Size: st.Size()}
		if st.IsDir() {
			h = &tar.Header{Name: filepath.ToSlash(rel) + "/", ModTime: mtime, Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar %s: %w", rel, err)
		}
		if st.IsDir() {
			continue
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, src)
		src.Close()
		if err != nil {
			return fmt.Errorf("tar %s: %w", rel, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("tar %s: %w", tarPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tar %s: %w", tarPath, err)
	}
	return os.Rename(tmp, tarPath)
}
