package interop

import (
	"os/exec"
	"strings"
	"testing"
)

// testbed.sh refuses what could touch namespaces that are not its own,
// without needing root.
func TestTestbedScriptRefuses(t *testing.T) {
	requireTool(t, "bash")
	script := repoFile(t, "scripts/testbed.sh")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no command", nil, nil, "Usage:"},
		{"down without prefix", nil, []string{"down"}, "give the PREFIX"},
		{"down of a foreign prefix", nil, []string{"down", "prod-"}, "must start with hbx-"},
		{"exec without prefix", nil, []string{"exec", "board", "true"}, "TESTBED_PREFIX"},
		{"exec of an unknown namespace", []string{"TESTBED_PREFIX=hbx-0-"}, []string{"exec", "host", "true"}, "unknown namespace"},
		{"up with a foreign prefix", []string{"TESTBED_PREFIX=prod-"}, []string{"up"}, "must start with hbx-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("bash", append([]string{script}, tc.args...)...)
			cmd.Env = append(cmd.Environ(), tc.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("accepted: %s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("output %q lacks %q", out, tc.want)
			}
		})
	}
}
