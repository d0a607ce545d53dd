// Command hushbox is the secure desk PBX: `hushbox serve` runs the daemon;
// the other subcommands manage it. This file only parses the command line;
// the work is done in the pbx packages.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/emiago/sipgo/sip"

	"hushbox/pbx/buildinfo"
	"hushbox/pbx/control"
	"hushbox/pbx/daemon"
	"hushbox/pbx/store"
)

const defaultData = "./hushbox-data"

const usage = `hushbox - secure desk PBX

usage:
  hushbox serve [flags]                 run the PBX (see hushbox serve -h)
  hushbox ext add NUM [--name NAME] [--password PW]
                                        add an extension (password generated when omitted)
  hushbox ext list [--json]             list extensions and their registrations
  hushbox ext set NUM --require-srtp=true|false
                                        whether the extension's calls must use SRTP (TLS)
  hushbox ext rm NUM                    remove an extension
  hushbox ext passwd NUM [--password PW]
                                        set a new password (generated when omitted)
  hushbox registrations [--json]        list registered phones (daemon must run)
  hushbox calls [--json]                live calls, with the SAS of scrambled trunk calls
  hushbox identity                      this box's identity key, for the other office's trunk
  hushbox trunk add NAME --address HOST:PORT --key hbx1:... --prefix DIGITS [--strip N]
                                        a scrambled trunk to another hushbox (SIP TLS)
  hushbox trunk add NAME --kind sip --address HOST:PORT [--prefix DIGITS --strip N]
        [--transport udp|tcp|tls] [--user U --password P --register] [--did NUMBER=EXT ...]
                                        a SIP provider trunk
  hushbox trunk list | rm NAME
  hushbox peer code [--name N --prefix D]
                                        a one-time code for another hushbox to pair with this one
  hushbox peer pair HOST[:PORT] CODE [--name N --prefix D]
                                        pair with the box showing CODE (mutual TLS, pinned keys)
  hushbox peer list | rm NAME
  hushbox handoff cloud | board | status [--json]
                                        move WAN calls to the paired cloud peer and back (a drill)
  hushbox cdr [--csv] [--limit N] [--number NUM]
                                        list call records, newest first
  hushbox backup --out FILE [--passphrase-file F]
                                        passphrase-encrypted backup of the store and identity (verified)
  hushbox restore FILE [--passphrase-file F]
                                        restore a backup (hushbox stopped; nothing replaced if it is bad)
  hushbox update keygen|sign|verify|install|mark-good|await-healthy|status
                                        signed firmware updates (A/B slots; hushbox update help)
  hushbox scramble --key-hex K [--ssrc N] in.wav out.wav
                                        scramble an 8 kHz mono WAV file (20 ms frames)
  hushbox descramble --key-hex K [--ssrc N] in.wav out.wav
                                        undo scramble with the same key and SSRC
  hushbox voicetest [--loss 0,1,5] [--png-dir DIR] in.wav
                                        scramble, G.711, packet loss, descramble: SNR, STOI, spectrograms
  hushbox phone --server HOST:PORT --user NUM --password PW [--audio SPEC] [--dial NUM | --answer]
        [--duration D] [--dtmf DIGITS]  the softphone: register, call or answer, scramble end to end
  hushbox audio list [--json]           sound devices (PortAudio builds)
  hushbox audio test [--audio SPEC] [--seconds N] [--in WAV] [--out WAV]
                                        loopback test of a sound device: level, latency
  hushbox version                       print the version

Every management command takes --data DIR (default ./hushbox-data) and talks to
the running daemon over DIR/hushbox.sock, or opens the store when none runs.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hushbox:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "ext":
		return ext(args[1:], stdout)
	case "cdr":
		return cdr(args[1:], stdout)
	case "registrations":
		return registrations(args[1:], stdout)
	case "calls":
		return calls(args[1:], stdout)
	case "update":
		return updateCmd(args[1:], stdout)
	case "backup":
		return backupCmd(args[1:], os.Stdin, stdout)
	case "restore":
		return restoreCmd(args[1:], os.Stdin, stdout)
	case "trunk":
		return trunk(args[1:], stdout)
	case "peer":
		return peerCmd(args[1:], stdout)
	case "handoff":
		return handoffCmd(args[1:], stdout)
	case "identity":
		return identityCmd(args[1:], stdout)
	case "scramble":
		return scrambleCmd(args[1:], stdout, false)
	case "descramble":
		return scrambleCmd(args[1:], stdout, true)
	case "voicetest":
		return voicetestCmd(args[1:], stdout)
	case "audio":
		return audioCmd(args[1:], stdout)
	case "phone":
		return phoneCmd(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, buildinfo.String())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// parse parses flags that may come before, between or after positional
// arguments (`ext add 101 --name Alice`), and returns the positionals.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func serve(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := daemon.Config{}
	fs.StringVar(&cfg.DataDir, "data", defaultData, "data folder (store, certificates)")
	fs.StringVar(&cfg.SIPAddr, "sip", ":5060", "SIP UDP and TCP listen address")
	fs.StringVar(&cfg.SIPTLSAddr, "sip-tls", ":5061", "SIP TLS listen address (empty disables)")
	fs.StringVar(&cfg.RTPPorts, "rtp-ports", "20000-20999", "media relay port range LO-HI")
	fs.StringVar(&cfg.Realm, "realm", "", "digest authentication realm (stored; default: the stored one, else \"hushbox\")")
	fs.StringVar(&cfg.MediaIP, "media-ip", "", "address advertised to phones in SDP and Contact (default: guessed)")
	fs.DurationVar(&cfg.MediaTimeout, "media-timeout", 60*time.Second, "end a call when no RTP arrives for this long")
	fs.DurationVar(&cfg.RingTimeout, "ring-timeout", 60*time.Second, "give up an unanswered call after this long")
	fs.StringVar(&cfg.UserAgent, "user-agent", buildinfo.UserAgent(), "Server/User-Agent header value (empty sends none)")
	fs.StringVar(&cfg.WebAddr, "web", ":8443", "web page (HTTPS) listen address (empty disables)")
	fs.StringVar(&cfg.WebHTTPAddr, "web-http", "", "plain HTTP address that only redirects to the web page (e.g. :80)")
	fs.StringVar(&cfg.PeerAddr, "peer", daemon.PeerAuto, "mutual-TLS listen address for paired hushbox peers; auto: the --web host, port + 1 (empty disables peering; needs --web)")
	fs.StringVar(&cfg.Digest, "digest", "SHA-256,MD5", "digest algorithms to challenge with, most preferred first (phones that only read the first challenge need MD5 first)")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	fs.StringVar(&cfg.PhoneAudio, "phone", "", "make the board's handset extension 100 on this sound device (portaudio[:NAME], null, wav:IN,OUT); the appliance uses portaudio by default")
	fs.BoolVar(&cfg.Appliance, "appliance", false, "run as the appliance's daemon (set by /init; allows reboot from the web page)")
	fs.StringVar(&cfg.Firewall, "firewall", daemon.FirewallAuto, "mirror DoS bans into nftables: auto (on the appliance only), nft, off")
	fs.StringVar(&cfg.BootDir, "boot-dir", "", "boot partition with the A/B firmware slots (set by /init: /boot); empty turns firmware updates off")
	fs.StringVar(&cfg.UpdateKey, "update-key", DefaultUpdateKey, "release public key (PEM) firmware update bundles must be signed with")
	fs.StringVar(&cfg.Board, "board", "", "board name for update bundles (default: hb_board in BOOT-DIR/hushbox.env, else the device tree)")
	fs.DurationVar(&cfg.UpdateGrace, "update-grace", daemon.DefaultUpdateGrace, "how long a test boot of new firmware must stay up before it is checked and marked good")
	role := roleFlag(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	// Flags given explicitly win over settings saved on the web page.
	cfg.Flags = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { cfg.Flags[f.Name] = true })
	// The role's defaults (role.go) fill what no flag gave.
	lf, err := applyRole(&cfg, *role, *logFormat, os.Getenv)
	if err != nil {
		return err
	}
	logFormat = &lf
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return usageError{fmt.Sprintf("bad --log-level %q", *level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch *logFormat {
	case "text":
		h = slog.NewTextHandler(stderr, opts)
	case "json":
		h = slog.NewJSONHandler(stderr, opts)
	default:
		return usageError{fmt.Sprintf("bad --log-format %q", *logFormat)}
	}
	cfg.Log = slog.New(h)
	// sipgo's few package-level log lines go to the same place.
	sip.SetDefaultLogger(daemon.SIPLogger(cfg.Log))
	cfg.Out = stderr
	cfg.Command = os.Args[0]
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	applyGCPolicy(cfg.Log)                            // GOGC 400 and a soft memory limit (gcpolicy.go)
	logCPULimit(cfg.Log)                              // the cgroup's CPU limit and GOMAXPROCS (cpulimit.go)
	stopProfiles := startProfiles(os.Getenv, cfg.Log) // HUSHBOX_CPUPROFILE, HUSHBOX_MEMPROFILE, HUSHBOX_TRACE (profile.go)
	err = bindHint(daemon.Run(ctx, cfg))
	stop()
	stopProfiles()
	switch {
	case errors.Is(err, daemon.ErrRestart):
		return reexec(stderr)
	case errors.Is(err, daemon.ErrReboot):
		fmt.Fprintln(stderr, "hushbox: rebooting")
		return daemon.RebootBoard()
	}
	return err
}

// reexec replaces this process with a fresh start of the same binary and
// arguments (the web page's restart); it returns only on failure.
func reexec(stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	fmt.Fprintln(stderr, "hushbox: restarting")
	if err := syscall.Exec(exe, os.Args, os.Environ()); err != nil {
		return fmt.Errorf("restart: exec %s: %w", exe, err)
	}
	return nil
}

func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", defaultData, "data folder of the hushbox to manage")
}

// withAdmin connects to the hushbox in dir (daemon or store) and runs f.
func withAdmin(dir string, f func(ctx context.Context, a control.Admin) error) error {
	a, err := control.Connect(dir, daemon.DBName)
	if err != nil {
		return err
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return f(ctx, a)
}

func ext(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"ext: want add, list, rm or passwd"}
	}
	fs := flag.NewFlagSet("ext "+args[0], flag.ContinueOnError)
	data := dataFlag(fs)
	switch args[0] {
	case "add":
		name := fs.String("name", "", "display name")
		pw := fs.String("password", "", "password (generated when omitted)")
		srtpReq := fs.Bool("require-srtp", false, "calls must use SRTP (the phone connects over TLS)")
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError{"usage: hushbox ext add NUM [--name NAME] [--password PW] [--require-srtp]"}
		}
		return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
			set, err := a.AddExtension(ctx, pos[0], *name, *pw)
			if err != nil {
				return err
			}
			if *srtpReq {
				if err := a.SetRequireSRTP(ctx, pos[0], true); err != nil {
					return err
				}
			}
			fmt.Fprintf(stdout, "extension %s added\n", pos[0])
			if *pw == "" {
				fmt.Fprintf(stdout, "password: %s\n", set)
			}
			return nil
		})
	case "list", "ls":
		asJSON := fs.Bool("json", false, "print JSON")
		if _, err := parse(fs, args[1:]); err != nil {
			return err
		}
		return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
			exts, err := a.Extensions(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				return json.NewEncoder(stdout).Encode(exts)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NUMBER\tNAME\tREGISTERED\tSRTP")
			for _, e := range exts {
				srtp := "optional"
				if e.RequireSRTP {
					srtp = "required"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", e.Number, e.Name, e.Registrations, srtp)
			}
			return tw.Flush()
		})
	case "set":
		srtpReq := fs.Bool("require-srtp", false, "calls must use SRTP (the phone connects over TLS)")
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError{"usage: hushbox ext set NUM --require-srtp=true|false"}
		}
		return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
			if err := a.SetRequireSRTP(ctx, pos[0], *srtpReq); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "extension %s: require SRTP %v\n", pos[0], *srtpReq)
			return nil
		})
	case "rm", "remove", "del":
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError{"usage: hushbox ext rm NUM"}
		}
		return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
			if err := a.RemoveExtension(ctx, pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "extension %s removed\n", pos[0])
			return nil
		})
	case "passwd", "password":
		pw := fs.String("password", "", "new password (generated when omitted)")
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError{"usage: hushbox ext passwd NUM [--password PW]"}
		}
		return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
			set, err := a.SetPassword(ctx, pos[0], *pw)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "password of %s changed\n", pos[0])
			if *pw == "" {
				fmt.Fprintf(stdout, "password: %s\n", set)
			}
			return nil
		})
	}
	return usageError{fmt.Sprintf("ext: unknown action %q (want add, list, rm, passwd)", args[0])}
}

func cdr(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cdr", flag.ContinueOnError)
	data := dataFlag(fs)
	asCSV := fs.Bool("csv", false, "print CSV")
	limit := fs.Int("limit", 0, "at most this many records (0: all)")
	number := fs.String("number", "", "only calls from or to this extension")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
		cdrs, err := a.CDRs(ctx, store.CDRQuery{Limit: *limit, Number: *number})
		if err != nil {
			return err
		}
		if *asCSV {
			return store.WriteCDRCSV(stdout, cdrs)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "START\tFROM\tTO\tDISPOSITION\tBILLSEC\tCODEC\tHANGUP")
		for _, c := range cdrs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", c.Start.Local().Format("2006-01-02 15:04:05"), c.From, c.To,
				c.Disposition, int(c.Billsec().Seconds()), c.Codec, c.Hangup)
		}
		return tw.Flush()
	})
}

func registrations(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("registrations", flag.ContinueOnError)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
		regs, err := a.Registrations(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(regs)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EXT\tCONTACT\tSOURCE\tTRANSPORT\tEXPIRES\tUSER-AGENT")
		for _, r := range regs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Extension, r.Contact, r.Source, r.Transport,
				time.Until(r.Expires).Round(time.Second), strings.TrimSpace(r.UserAgent))
		}
		return tw.Flush()
	})
}
