package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestHandoffCmdUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args  []string
		usage bool
		want  string
	}{
		{nil, true, ""},
		{[]string{"mars"}, true, ""},
		{[]string{"cloud", "extra"}, true, ""},
		{[]string{"cloud", "--data", dir}, false, "does not seem to run"},
		{[]string{"status", "--data", dir}, false, "does not seem to run"},
	} {
		var out bytes.Buffer
		err := handoffCmd(tc.args, &out)
		var u usageError
		if got := errors.As(err, &u); got != tc.usage {
			t.Errorf("%v: usage error %v, want %v (err %v)", tc.args, got, tc.usage, err)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
