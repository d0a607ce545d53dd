package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The cloud peer's user and ports, shared by the image config, the layer's
// /etc/passwd and the tests (deploy/ holds the same numbers for Kubernetes).
const (
	UID     = 65532 // non-root, the distroless "nonroot" convention
	GID     = 65532
	DataDir = "/data"
	// RTPLo and RTPHi are the cloud role's default media port range
	// (cmd/hushbox/role.go): 100 ports, 25 relayed calls.
	RTPLo = 20000
	RTPHi = 20099
)

// Platform is an OCI platform: os/architecture[/variant].
type Platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// ParsePlatform reads "linux/amd64", "linux/arm64" or "linux/arm/v7"; GOARCH
// names are OCI's names for these.
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "linux" {
		return Platform{}, fmt.Errorf("platform %q: want linux/ARCH[/VARIANT]", s)
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	switch {
	case p.Architecture == "amd64" && p.Variant == "":
	case p.Architecture == "arm64" && (p.Variant == "" || p.Variant == "v8"):
	case p.Architecture == "arm" && (p.Variant == "v6" || p.Variant == "v7"):
	default:
		return Platform{}, fmt.Errorf("platform %q: hushbox images are linux/amd64, linux/arm64 and linux/arm/v7", s)
	}
	return p, nil
}

// Spec is what the image says about how to run it.
type Spec struct {
	Version    string
	Created    time.Time
	User       string
	Entrypoint []string
	Cmd        []string
	Env        []string
	Ports      []string // "5060/udp", ...
	Volumes    []string
	WorkingDir string
	Labels     map[string]string
}

// DefaultSpec is the cloud peer: the binary as entrypoint, serving as the
// cloud role with its data in the /data volume, as uid 65532, logging JSON
// to stderr. SIP stays on 5060/5061: an unprivileged user may bind them
// where the runtime sets net.ipv4.ip_unprivileged_port_start=0 (Docker and
// Podman do by default; the Kubernetes manifest in deploy/ sets the sysctl)
// or grants CAP_NET_BIND_SERVICE (see docs/cloud.md).
func DefaultSpec() Spec {
	ports := []string{"5060/udp", "5060/tcp", "5061/tcp", "8443/tcp", "8444/tcp"}
	for p := RTPLo; p <= RTPHi; p++ {
		ports = append(ports, strconv.Itoa(p)+"/udp")
	}
	return Spec{
		Version:    "dev",
		User:       strconv.Itoa(UID) + ":" + strconv.Itoa(GID),
		Entrypoint: []string{"/hushbox"},
		Cmd:        []string{"serve", "--role", "cloud", "--data", DataDir},
		Env:        []string{"HUSHBOX_LOG=json"},
		Ports:      ports,
		Volumes:    []string{DataDir},
		WorkingDir: DataDir,
		Labels: map[string]string{
			"org.opencontainers.image.title":       "hushbox-cloud",
			"org.opencontainers.image.description": "hushbox cloud peer: hushbox serve --role cloud",
		},
	}
}
