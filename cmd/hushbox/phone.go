package main

// `hushbox phone`: the softphone endpoint (pbx/endpoint) on the command
// line. It prints one "phone: ..." line per state change on stdout.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"hushbox/audio"
	"hushbox/crypto/keys"
	"hushbox/pbx/endpoint"
)

const phoneUsage = `usage: hushbox phone --server HOST:PORT --user NUM --password PW [--audio SPEC]
        [--dial NUM | --answer] [--duration D] [--dtmf DIGITS] [--data DIR] [--interactive]
       hushbox phone --latency-report [--jitter N]`

func phoneCmd(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("phone", flag.ContinueOnError)
	fset.SetOutput(stderr)
	server := fset.String("server", "", "the PBX's SIP address HOST:PORT (UDP)")
	user := fset.String("user", "", "extension number")
	password := fset.String("password", "", "extension password (default: env HUSHBOX_PHONE_PASSWORD)")
	audioSpec := fset.String("audio", "null", "sound device: null, wav:IN.wav,OUT.wav or portaudio[:NAME]")
	dial := fset.String("dial", "", "call this number once registered")
	answer := fset.Bool("answer", false, "answer the first incoming call, exit when it ends")
	duration := fset.Duration("duration", 0, "hang up this long after the call is answered (0: when the other side does); without a call, stay registered this long")
	dtmf := fset.String("dtmf", "", "keys (0-9 * # A-D) to send as RFC 4733 events once the call is answered")
	data := fset.String("data", "", "folder of the phone's identity (default ~/.config/hushbox-phone)")
	listen := fset.String("listen", "", "local SIP UDP address (default: the address that routes to the server)")
	rtpPort := fset.Int("rtp-port", 0, "local RTP port (default: any free port)")
	jitter := fset.Int("jitter", 0, "initial jitter buffer delay in 20 ms frames (default 1)")
	interactive := fset.Bool("interactive", false, "read commands from stdin: answer, hangup, dial NUM, dtmf KEYS")
	noScramble := fset.Bool("no-scramble", false, "never scramble (no identity, every call in clear)")
	latency := fset.Bool("latency-report", false, "print the delay the phone adds, per component, and exit")
	level := fset.String("log-level", "warn", "log level: debug, info, warn, error")
	if _, err := parse(fset, args); err != nil {
		return err
	}
	if *latency {
		var dev audio.Device
		if flagGiven(fset, "audio") {
			d, err := audio.Open(*audioSpec)
			if err != nil {
				return err
			}
			defer d.Close()
			dev = d
		}
		return endpoint.WriteLatency(stdout, *jitter, dev)
	}
	if *server == "" || *user == "" {
		fmt.Fprintln(stderr, phoneUsage)
		return usageError{"phone: --server and --user are required"}
	}
	if *dial != "" && *answer {
		return usageError{"phone: --dial and --answer exclude each other"}
	}
	if *password == "" {
		*password = os.Getenv("HUSHBOX_PHONE_PASSWORD")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return usageError{fmt.Sprintf("bad --log-level %q", *level)}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))

	cfg := endpoint.Config{Server: *server, User: *user, Password: *password, Listen: *listen,
		AutoAnswer: *answer, JitterFrames: *jitter, RTPPort: *rtpPort, Logger: log}
	if !*noScramble {
		id, where, err := phoneIdentity(*data)
		if err != nil {
			return err
		}
		if where == "" {
			fmt.Fprintln(stderr, "phone: warning: no data folder; using a temporary identity (the other side cannot pin it)")
		}
		defer id.Destroy()
		cfg.Identity = id
		fmt.Fprintf(stdout, "phone: identity %s\n", id.Public().Fingerprint())
	}
	dev, err := audio.Open(*audioSpec)
	if err != nil {
		return err
	}
	cfg.Audio = dev
	ep, err := endpoint.New(cfg)
	if err != nil {
		dev.Close()
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runCtx, cancelRun := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- ep.Run(runCtx) }()
	if *interactive {
		go phoneConsole(ctx, ep, os.Stdin, stderr)
	}
	finish := func(err error) error {
		cancelRun()
		<-runDone
		if cerr := dev.Close(); cerr != nil && err == nil {
			err = cerr
		}
		return err
	}

	var hangAt <-chan time.Time
	if *duration > 0 && *dial == "" && !*answer {
		hangAt = time.After(*duration)
	}
	dialed := false
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout, "phone: interrupted")
			return finish(nil)
		case <-hangAt:
			ep.Hangup()
			if *dial == "" && !*answer {
				return finish(nil)
			}
			hangAt = nil
		case ev := <-ep.Events():
			fmt.Fprintln(stdout, "phone: "+ev.String())
			switch ev.Kind {
			case endpoint.EventRegistered:
				if *dial != "" && !dialed {
					dialed = true
					if err := ep.Dial(ctx, *dial); err != nil {
						return finish(err)
					}
				}
			case endpoint.EventInCall:
				if *duration > 0 {
					hangAt = time.After(*duration)
				}
				for _, d := range *dtmf {
					if err := ep.SendDTMF(d); err != nil {
						fmt.Fprintf(stderr, "phone: dtmf %q: %v\n", d, err)
					}
				}
			case endpoint.EventEnded:
				if *dial != "" || *answer {
					return finish(nil)
				}
			}
		}
	}
}

// phoneIdentity loads the identity from dir (default
// ~/.config/hushbox-phone); when no folder can be used it makes a
// temporary identity and returns where == "".
func phoneIdentity(dir string) (id *keys.Identity, where string, err error) {
	if dir == "" {
		if d, err := os.UserConfigDir(); err == nil && d != "" {
			dir = filepath.Join(d, "hushbox-phone")
		}
	}
	if dir != "" {
		id, err := endpoint.LoadIdentity(dir)
		if err == nil {
			return id, dir, nil
		}
		if !errors.Is(err, fs.ErrPermission) && !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
	}
	id, err = keys.NewIdentity()
	return id, "", err
}

// flagGiven reports whether flag name was given on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// phoneConsole runs the commands typed on r (one per line) until r ends:
// "answer", "hangup", "dial NUM", "dtmf KEYS" (or their first letters).
func phoneConsole(ctx context.Context, ep *endpoint.Endpoint, r io.Reader, errOut io.Writer) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var err error
		switch strings.ToLower(f[0]) {
		case "a", "answer":
			err = ep.Answer()
		case "h", "hangup":
			ep.Hangup()
		case "d", "dial":
			if len(f) != 2 {
				err = errors.New("usage: dial NUM")
				break
			}
			err = ep.Dial(ctx, f[1])
		case "k", "dtmf":
			if len(f) != 2 {
				err = errors.New("usage: dtmf KEYS")
				break
			}
			for _, k := range f[1] {
				if err = ep.SendDTMF(k); err != nil {
					break
				}
			}
		default:
			err = errors.New("commands: answer, hangup, dial NUM, dtmf KEYS")
		}
		if err != nil {
			fmt.Fprintf(errOut, "phone: %v\n", err)
		}
	}
}
