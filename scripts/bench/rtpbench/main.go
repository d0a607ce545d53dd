// Command rtpbench is the media relay benchmark of scripts/bench/run.sh: a
// bounded G.711 RTP load generator and receiver (sender and receiver in
// one process, so latency is receive time minus send time on one clock)
// that routes its calls through hushbox's relay (pbx/media, run in a
// child process: the "relay" subcommand), through rtpengine (set up over
// its NG control protocol) or directly (the loopback floor, to subtract).
//
//	rtpbench load -target hushbox|rtpengine|direct -calls N [-srtp] [-scramble] [-ng ADDR -pid PID]
//	    [-relay-gomaxprocs N] [-relay-cgroup DIR] [-gc-every D -live-mb M]
//	rtpbench relay -calls N [-srtp] [-scramble] [-gc-every D -live-mb M]     (started by load)
//
// The -relay-* and -gc-every flags set the hushbox relay's conditions: its
// GOMAXPROCS, a CPU cgroup it runs in (a capped board: the caller makes
// the cgroup), and a garbage collection forced every D over a live heap of
// M MB (the daemon's collections, closer together); docs/benchmarks.md,
// "The relay's latency through collections at a CPU quota".
//
// load prints one line: relay target=... mode=... calls=N sent= received=
// loss_pct= pps= cpu_s= cpu_pct= pps_per_core= p50_us= p99_us= max_us=
// jitter_us= (pps_per_core: packets delivered per CPU second of the relay
// process, all its threads).
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rtpbench load|relay [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "load":
		err = runLoad(os.Args[2:])
	case "relay":
		err = runRelay(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtpbench:", err)
		os.Exit(1)
	}
}
