package main

import (
	"errors"
	"flag"
	"fmt"
	"syscall"

	"hushbox/pbx/daemon"
)

// cloudData is the cloud role's data folder: the container image declares
// it as a volume (deploy/, scripts/container).
const cloudData = "/data"

// cloudRTPPorts is the cloud role's media port range: narrow, because a
// Kubernetes Service lists every port on its own (100 ports relay 25 calls;
// deploy/ and scripts/container publish the same range).
const cloudRTPPorts = "20000-20099"

// envLog names the environment variable that picks the log format when
// --log-format is not given: "json" or "text". Containers set it (the OCI
// image sets HUSHBOX_LOG=json) because a flag in an orchestrator's command
// line is easy to lose when someone overrides the arguments.
const envLog = "HUSHBOX_LOG"

// roleFlag declares serve's --role flag.
func roleFlag(fs *flag.FlagSet) *string {
	return fs.String("role", string(daemon.RoleBoard),
		"board (the desk appliance, default) or cloud (the peer run as a container: no audio, GPIO or appliance features; data in /data)")
}

// applyRole sets cfg.Role from --role and fills the defaults of that role
// for the flags not given on the command line (cfg.Flags): the cloud keeps
// its data in /data and relays media on a narrow port range. HUSHBOX_LOG chooses the log format when --log-format
// was not given. It returns the log format to use.
func applyRole(cfg *daemon.Config, role, logFormat string, getenv func(string) string) (string, error) {
	r, err := daemon.ParseRole(role)
	if err != nil {
		return "", usageError{err.Error()}
	}
	cfg.Role = r
	if r.Cloud() {
		if cfg.Appliance {
			return "", usageError{"--appliance is for the board; --role cloud has no appliance features"}
		}
		if !cfg.Flags["data"] {
			cfg.DataDir = cloudData
		}
		if !cfg.Flags["rtp-ports"] {
			cfg.RTPPorts = cloudRTPPorts
		}
	}
	if !cfg.Flags["log-format"] {
		switch v := getenv(envLog); v {
		case "":
		case "json", "text":
			logFormat = v
		default:
			return "", usageError{fmt.Sprintf("bad %s=%q: want json or text", envLog, v)}
		}
	}
	return logFormat, nil
}

// bindHint adds what to do when a listener could not bind a port below
// 1024 (SIP 5060/5061 as a non-root user, the cloud container's uid 65532).
func bindHint(err error) error {
	if err == nil || !errors.Is(err, syscall.EACCES) {
		return err
	}
	return fmt.Errorf("%w (ports below 1024 need CAP_NET_BIND_SERVICE or the sysctl net.ipv4.ip_unprivileged_port_start=0; or choose ports above 1024, e.g. --sip :5080 --sip-tls :5081)", err)
}
