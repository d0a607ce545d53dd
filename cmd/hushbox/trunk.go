package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
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
		kind := fs.String("kind", store.TrunkHushbox, "hushbox (scrambled, to another hushbox) or sip (a provider)")
		address := fs.String("address", "", "peer address host:port (a hushbox's SIP TLS port, or the provider's)")
		key := fs.String("key", "", "hushbox: the other box's identity (hbx1:..., from its `hushbox identity`)")
		prefix := fs.String("prefix", "", "numbers starting with this go out on the trunk")
		strip := fs.Int("strip", 0, "leading digits removed before sending")
		transport := fs.String("transport", "", "sip: udp, tcp or tls (hushbox trunks always use tls)")
		user := fs.String("user", "", "sip: account user name at the provider")
		password := fs.String("password", "", "sip: account password (kept sealed)")
		register := fs.Bool("register", false, "sip: register the account at the provider")
		var dids didFlag
		fs.Var(&dids, "did", "sip: inbound number to extension, NUMBER=EXT (repeatable)")
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		const use = "usage: hushbox trunk add NAME --address HOST:PORT --prefix DIGITS [--strip N]\n" +
			"         --kind hushbox --key hbx1:...\n" +
			"       | --kind sip [--transport udp|tcp|tls] [--user U --password P] [--register] [--did NUM=EXT ...]"
		if len(pos) != 1 || *address == "" {
			return usageError{use}
		}
		t := store.Trunk{Name: pos[0], Kind: *kind, Address: *address, Prefix: *prefix, Strip: *strip}
		switch *kind {
		case store.TrunkHushbox:
			if *key == "" || *prefix == "" || *user != "" || *password != "" || len(dids) > 0 {
				return usageError{use}
			}
			t.Transport, t.PeerKey = "tls", *key
		case store.TrunkSIP:
			if *key != "" {
				return usageError{use}
			}
			t.Transport, t.Username, t.Register, t.DIDs = "udp", *user, *register, map[string]string(dids)
			if *transport != "" {
				t.Transport = *transport
			}
		default:
			return usageError{use}
		}
		return withAdmin(*data, func(ctx context.Context, a control.Admin) error {
			if err := a.AddTrunk(ctx, t, *password); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "trunk %s added\n", t.Name)
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
			fmt.Fprintln(tw, "NAME\tKIND\tADDRESS\tPREFIX\tSTRIP\tPEER KEY / USER\tSTATUS")
			for _, t := range ts {
				who := t.PeerKey
				if t.Kind == store.TrunkSIP {
					who = t.Username
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", t.Name, t.Kind, t.Address, t.Prefix, t.Strip, who, t.Status)
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

// didFlag collects --did NUMBER=EXT pairs.
type didFlag map[string]string

func (d *didFlag) String() string { return fmt.Sprint(map[string]string(*d)) }

func (d *didFlag) Set(v string) error {
	num, ext, ok := strings.Cut(v, "=")
	if !ok || num == "" || ext == "" {
		return fmt.Errorf("want NUMBER=EXT, got %q", v)
	}
	if *d == nil {
		*d = didFlag{}
	}
	(*d)[num] = ext
	return nil
}
