// Command container writes the OCI image of the cloud peer (`hushbox serve
// --role cloud`) without a Docker daemon: one layer per platform holding the
// static hushbox binary, /data and a passwd entry for the non-root user,
// an image config, a manifest per platform and a multi-platform index, laid
// out as an OCI image layout directory and as a tar of that directory.
//
// It is run by scripts/container.sh (make container), which builds the
// binaries first:
//
//	go run ./scripts/container --out out/hushbox-cloud-oci --tar out/hushbox-cloud-oci.tar \
//	    --bin linux/amd64=out/container/hushbox-linux-amd64 --bin linux/arm64=...
//
// The layout is written by hand (tar, JSON and SHA-256 digests) because that
// is all an OCI image is; the output is byte-for-byte reproducible for the
// same binaries and --created time.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// binFlags collects repeated --bin PLATFORM=PATH flags, in order.
type binFlags []imageInput

func (b *binFlags) String() string {
	var s []string
	for _, in := range *b {
		s = append(s, in.Platform.String()+"="+in.Binary)
	}
	return strings.Join(s, ",")
}

func (b *binFlags) Set(v string) error {
	plat, path, ok := strings.Cut(v, "=")
	if !ok || path == "" {
		return fmt.Errorf("--bin %q: want PLATFORM=PATH, e.g. linux/amd64=out/hushbox-linux-amd64", v)
	}
	p, err := ParsePlatform(plat)
	if err != nil {
		return err
	}
	*b = append(*b, imageInput{Platform: p, Binary: path})
	return nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "container:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("container", flag.ContinueOnError)
	out := fs.String("out", "out/hushbox-cloud-oci", "OCI image layout directory to write (replaced)")
	tarPath := fs.String("tar", "", "also write the layout as this tar file (oci-archive)")
	tag := fs.String("tag", "latest", "reference name of the image in the layout")
	version := fs.String("version", "dev", "version label")
	created := fs.Int64("created", 0, "creation time, Unix seconds (SOURCE_DATE_EPOCH), for reproducible images")
	var bins binFlags
	fs.Var(&bins, "bin", "PLATFORM=PATH of a static hushbox binary (repeat per platform: linux/amd64, linux/arm64, linux/arm/v7)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(bins) == 0 {
		return errors.New("no --bin given")
	}
	spec := DefaultSpec()
	spec.Version = *version
	spec.Created = time.Unix(*created, 0).UTC()
	idx, err := WriteLayout(*out, *tag, spec, bins)
	if err != nil {
		return err
	}
	fmt.Printf("container: %s:%s index %s (%d platforms)\n", *out, *tag, idx, len(bins))
	if *tarPath != "" {
		if err := TarDir(*out, *tarPath, spec.Created); err != nil {
			return err
		}
		fmt.Printf("container: %s\n", *tarPath)
	}
	return nil
}
