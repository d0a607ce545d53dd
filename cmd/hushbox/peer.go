package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"hushbox/pbx/control"
	"hushbox/pbx/peer"
)

const peerUsage = `usage: hushbox peer code [--name NAME] [--prefix DIGITS] [--trunk=false]
       hushbox peer pair HOST[:PORT] CODE [--name NAME] [--prefix DIGITS] [--trunk=false]
       hushbox peer list [--json]
       hushbox peer rm NAME`

// peerCmd is `hushbox peer`: pairing with another hushbox through the
// running daemon.
func peerCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{peerUsage}
	}
	fs := flag.NewFlagSet("peer "+args[0], flag.ContinueOnError)
	data := dataFlag(fs)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dial := func() (*peer.ControlClient, error) { return peer.DialControl(*data, control.TokenName) }
	switch args[0] {
	case "code":
		name := fs.String("name", "", "name for the peer that will use the code (default: its own)")
		prefix := fs.String("prefix", "", "dial prefix of the trunk to it")
		trunk := fs.Bool("trunk", true, "make a hushbox trunk to the peer")
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 0 {
			return usageError{peerUsage}
		}
		c, err := dial()
		if err != nil {
			return err
		}
		r, err := c.Code(ctx, peer.CodeCommand{Name: *name, Trunk: *trunk, Prefix: *prefix})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "pairing code %s (one attempt, valid until %s)\n", r.Code, r.Expires.Local().Format("15:04:05"))
		return nil
	case "pair":
		name := fs.String("name", "", "name for the other box (default: its own)")
		prefix := fs.String("prefix", "", "dial prefix of the trunk to it")
		trunk := fs.Bool("trunk", true, "make a hushbox trunk to the other box")
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return usageError{peerUsage}
		}
		c, err := dial()
		if err != nil {
			return err
		}
		p, err := c.Pair(ctx, peer.PairCommand{Address: pos[0], Code: pos[1], Name: *name, Trunk: *trunk, Prefix: *prefix})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "paired with %s at %s, identity %s\n", p.Name, p.Address, p.Identity.Fingerprint())
		if p.Trunk != "" {
			fmt.Fprintf(stdout, "trunk %s made\n", p.Trunk)
		}
		return nil
	case "list", "ls":
		asJSON := fs.Bool("json", false, "print JSON")
		if _, err := parse(fs, args[1:]); err != nil {
			return err
		}
		c, err := dial()
		if err != nil {
			return err
		}
		ps, err := c.Peers(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(ps)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tADDRESS\tIDENTITY\tTRUNK\tLAST SEEN\tRTT")
		for _, p := range ps {
			seen, rtt := "never", p.RoundTrip()
			if !p.LastSeen.IsZero() {
				seen = p.LastSeen.Local().Format("15:04:05")
			}
			if p.LastError != "" {
				seen += " (" + p.LastError + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Role, p.Address, p.Identity.Fingerprint(), p.Trunk, seen, rtt)
		}
		return tw.Flush()
	case "rm", "remove", "del":
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError{peerUsage}
		}
		c, err := dial()
		if err != nil {
			return err
		}
		if err := c.Remove(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "peer %s removed\n", pos[0])
		return nil
	}
	return usageError{fmt.Sprintf("peer: unknown action %q (want code, pair, list, rm)\n%s", args[0], peerUsage)}
}
