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
	"hushbox/pbx/store"
)

func trunk(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"trunk: want add, list or rm"}
	}
	fs := flag.NewFlagSet("trunk "+args[0], flag.ContinueOnError)
	data := dataFlag(fs)
	switch args[0] {
	case "add":
		address := fs.String("address", "", "the other hushbox's SIP TLS address host:port")
		key := fs.String("key", "", "the other hushbox's identity (hbx1:..., from its `hushbox identity`)")
		prefix := fs.String("prefix", "", "numbers starting with this go out on the trunk")
		strip := fs.Int("strip", 0, "leading digits removed before sending")
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 || *address == "" || *key == "" || *prefix == "" {
			return usageError{"usage: hushbox trunk add NAME --address HOST:PORT --key hbx1:... --prefix DIGITS [--strip N]"}
		}
		t := store.Trunk{Name: pos[0], Kind: store.TrunkHushbox, Address: *address, Transport: "tls",
			PeerKey: *key, Prefix: *prefix, Strip: *strip}
		return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
			if err := a.AddTrunk(ctx, t); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "trunk %s added: numbers %s... go to %s\n", t.Name, t.Prefix, t.Address)
			return nil
		})
	case "list", "ls":
		asJSON := fs.Bool("json", false, "print JSON")
		if _, err := parse(fs, args[1:]); err != nil {
			return err
		}
		return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
			ts, err := a.Trunks(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				return json.NewEncoder(stdout).Encode(ts)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tADDRESS\tPREFIX\tSTRIP\tPEER KEY")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", t.Name, t.Kind, t.Address, t.Prefix, t.Strip, t.PeerKey)
			}
			return tw.Flush()
		})
	case "rm", "remove", "del":
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError{"usage: hushbox trunk rm NAME"}
		}
		return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
			if err := a.RemoveTrunk(ctx, pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "trunk %s removed\n", pos[0])
			return nil
		})
	}
	return usageError{fmt.Sprintf("trunk: unknown action %q (want add, list, rm)", args[0])}
}

func identityCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("identity", flag.ContinueOnError)
	data := dataFlag(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
		id, err := a.Identity(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, id)
		return nil
	})
}

func calls(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("calls", flag.ContinueOnError)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
		cs, err := a.Calls(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(cs)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FROM\tTO\tSTATE\tCODEC\tTRUNK\tSAS\tDURATION")
		for _, c := range cs {
			d := time.Duration(0)
			if !c.Answered.IsZero() {
				d = time.Since(c.Answered).Round(time.Second)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.From, c.To, c.State, c.Codec, c.Trunk, c.SAS, d)
		}
		return tw.Flush()
	})
}
