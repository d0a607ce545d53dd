// Package deploy holds the cloud peer's Dockerfile and Kubernetes manifests
// (deploy/k8s); its tests check that they parse and say what docs/cloud.md
// promises: non-root, read-only, no capabilities, the SIP, web, peer and
// media ports.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// docs reads every YAML document of a file into generic maps.
func docs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			out = append(out, d)
		}
	}
}

// get walks a parsed document: keys for maps, ints for lists.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path, k)
			}
			v = l[k]
		}
	}
	return v
}

func one(t *testing.T, path, kind string) map[string]any {
	t.Helper()
	ds := docs(t, path)
	if len(ds) != 1 || ds[0]["kind"] != kind || ds[0]["apiVersion"] == nil {
		t.Fatalf("%s: want one %s, got %d documents", path, kind, len(ds))
	}
	return ds[0]
}

func TestManifestsParse(t *testing.T) {
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("k8s/*/*.yaml")
	files = append(files, more...)
	if len(files) < 5 {
		t.Fatalf("manifests: %v", files)
	}
	for _, f := range files {
		for _, d := range docs(t, f) {
			if d["apiVersion"] == nil || d["kind"] == nil {
				t.Errorf("%s: a document without apiVersion or kind", f)
			}
		}
	}
}

// flagValue is the value after flag in args ("" when absent).
func flagValue(args []any, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			s, _ := args[i+1].(string)
			return s
		}
	}
	return ""
}

func TestDeploymentIsLockedDown(t *testing.T) {
	d := one(t, "k8s/deployment.yaml", "Deployment")
	if get(t, d, "spec", "replicas") != 1 || get(t, d, "spec", "strategy", "type") != "Recreate" {
		t.Error("the cloud peer's store takes one pod, replaced with Recreate")
	}
	pod := get(t, d, "spec", "template", "spec")
	psc := get(t, pod, "securityContext")
	if get(t, psc, "runAsNonRoot") != true || get(t, psc, "runAsUser") != 65532 || get(t, psc, "fsGroup") != 65532 {
		t.Errorf("pod securityContext: %v", psc)
	}
	sysctls, _ := get(t, psc, "sysctls").([]any)
	if len(sysctls) != 1 || get(t, sysctls[0], "name") != "net.ipv4.ip_unprivileged_port_start" || get(t, sysctls[0], "value") != "0" {
		t.Errorf("port sysctl missing: %v", sysctls)
	}
	c := get(t, pod, "containers", 0)
	sc := get(t, c, "securityContext")
	if get(t, sc, "readOnlyRootFilesystem") != true || get(t, sc, "allowPrivilegeEscalation") != false || get(t, sc, "runAsNonRoot") != true {
		t.Errorf("container securityContext: %v", sc)
	}
	if drop := get(t, sc, "capabilities", "drop"); !slices.Equal(drop.([]any), []any{"ALL"}) {
		t.Errorf("capabilities drop %v, want [ALL]", drop)
	}
	if add := get(t, sc, "capabilities", "add"); add != nil {
		t.Errorf("capabilities added: %v (the sysctl makes them unnecessary)", add)
	}
	args, _ := get(t, c, "args").([]any)
	if flagValue(args, "--role") != "cloud" || flagValue(args, "--data") != "/data" || flagValue(args, "--rtp-ports") != "20000-20099" {
		t.Errorf("args %v", args)
	}
	mounts := map[string]string{}
	for _, m := range get(t, c, "volumeMounts").([]any) {
		mounts[get(t, m, "mountPath").(string)] = get(t, m, "name").(string)
	}
	if mounts["/data"] == "" || mounts["/tmp"] == "" {
		t.Fatalf("mounts %v: /data and /tmp must be writable on a read-only root", mounts)
	}
	pvc := one(t, "k8s/pvc.yaml", "PersistentVolumeClaim")
	for _, v := range get(t, pod, "volumes").([]any) {
		if get(t, v, "name") == mounts["/data"] && get(t, v, "persistentVolumeClaim", "claimName") != get(t, pvc, "metadata", "name") {
			t.Errorf("/data is not the PVC %v", get(t, pvc, "metadata", "name"))
		}
	}
}

var portName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$`)

func TestServicePorts(t *testing.T) {
	s := one(t, "k8s/service.yaml", "Service")
	if get(t, s, "spec", "type") != "LoadBalancer" || get(t, s, "spec", "externalTrafficPolicy") != "Local" {
		t.Error("want a LoadBalancer that keeps source addresses (externalTrafficPolicy Local)")
	}
	d := one(t, "k8s/deployment.yaml", "Deployment")
	sel := get(t, s, "spec", "selector").(map[string]any)
	labels := get(t, d, "spec", "template", "metadata", "labels").(map[string]any)
	for k, v := range sel {
		if labels[k] != v {
			t.Errorf("selector %s=%v does not match the pod", k, v)
		}
	}
	have := map[string]bool{}
	names := map[string]bool{}
	for _, p := range get(t, s, "spec", "ports").([]any) {
		name := get(t, p, "name").(string)
		if !portName.MatchString(name) || names[name] {
			t.Errorf("port name %q: not a unique name of at most 15 characters", name)
		}
		names[name] = true
		if get(t, p, "targetPort") != get(t, p, "port") {
			t.Errorf("port %s maps %v to %v", name, get(t, p, "port"), get(t, p, "targetPort"))
		}
		have[strconv.Itoa(get(t, p, "port").(int))+"/"+get(t, p, "protocol").(string)] = true
	}
	want := []string{"5060/UDP", "5060/TCP", "5061/TCP", "8443/TCP", "8444/TCP"}
	args, _ := get(t, d, "spec", "template", "spec", "containers", 0, "args").([]any)
	lo, hi, ok := strings.Cut(flagValue(args, "--rtp-ports"), "-")
	l, _ := strconv.Atoi(lo)
	h, _ := strconv.Atoi(hi)
	if !ok || l < 1024 || h < l {
		t.Fatalf("no RTP range in the Deployment's args: %v", args)
	}
	for p := l; p <= h; p++ {
		want = append(want, strconv.Itoa(p)+"/UDP")
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("Service lacks %s", w)
		}
	}
	if len(have) != len(want) {
		t.Errorf("Service has %d ports, want exactly %d", len(have), len(want))
	}
}

func TestKustomizations(t *testing.T) {
	k := one(t, "k8s/kustomization.yaml", "Kustomization")
	for _, r := range get(t, k, "resources").([]any) {
		if _, err := os.Stat(filepath.Join("k8s", r.(string))); err != nil {
			t.Errorf("resource %v: %v", r, err)
		}
	}
	h := one(t, "k8s/hostnetwork/kustomization.yaml", "Kustomization")
	for _, r := range get(t, h, "resources").([]any) {
		if _, err := os.Stat(filepath.Join("k8s/hostnetwork", r.(string))); err != nil {
			t.Errorf("hostnetwork resource %v: %v", r, err)
		}
	}
	var ops []map[string]any
	if err := yaml.Unmarshal([]byte(get(t, h, "patches", 0, "patch").(string)), &ops); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, op := range ops {
		got[op["path"].(string)] = op["value"]
	}
	if got["/spec/template/spec/hostNetwork"] != true {
		t.Error("hostnetwork does not set hostNetwork")
	}
	if _, ok := got["/spec/template/spec/securityContext/sysctls"]; !ok {
		t.Error("hostnetwork keeps the sysctl a host-network pod may not set")
	}
	args, _ := got["/spec/template/spec/containers/0/args"].([]any)
	if sip := flagValue(args, "--sip"); sip != ":5080" || flagValue(args, "--role") != "cloud" {
		t.Errorf("hostnetwork args %v: want SIP above 1024 as the cloud role", args)
	}
}

// The Dockerfile builds the image `make container` makes.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	final := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[0] == "FROM" {
			froms = append(froms, line)
			final = map[string]string{}
			continue
		}
		final[f[0]] = strings.Join(f[1:], " ")
	}
	if len(froms) < 2 || strings.TrimSpace(froms[len(froms)-1]) != "FROM scratch" {
		t.Fatalf("want a multi-stage build ending FROM scratch: %v", froms)
	}
	for k, want := range map[string]string{
		"USER":       "65532:65532",
		"ENTRYPOINT": `["/hushbox"]`,
		"CMD":        `["serve", "--role", "cloud", "--data", "/data"]`,
		"VOLUME":     "/data",
		"ENV":        "HUSHBOX_LOG=json",
	} {
		if final[k] != want {
			t.Errorf("final stage %s %q, want %q", k, final[k], want)
		}
	}
	expose := strings.Fields(final["EXPOSE"])
	for _, p := range []string{"5060/udp", "5060/tcp", "5061/tcp", "8443/tcp", "8444/tcp", "20000-20099/udp"} {
		if !slices.Contains(expose, p) {
			t.Errorf("EXPOSE lacks %s: %v", p, expose)
		}
	}
	if !strings.Contains(string(b), "CGO_ENABLED=0") {
		t.Error("the binary in a scratch image must be static (CGO_ENABLED=0)")
	}
}
