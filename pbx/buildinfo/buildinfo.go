// Package buildinfo holds the version stamped into the binary at link time,
// so every subcommand, log line and SIP Server header names the same build.
package buildinfo

import "runtime"

// Version is set with -ldflags "-X hushbox/pbx/buildinfo.Version=...".
// A plain `go build` reports "dev".
var Version = "dev"

// UserAgent is the default value of the SIP Server and User-Agent headers.
func UserAgent() string { return "hushbox/" + Version }

// String is what `hushbox version` prints: name, version and platform.
func String() string {
	return "hushbox " + Version + " " + runtime.GOOS + "/" + runtime.GOARCH
}
