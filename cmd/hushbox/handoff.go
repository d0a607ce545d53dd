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
	"hushbox/pbx/handoff"
)

const handoffUsage = `usage: hushbox handoff cloud [--json]    hand WAN calls to the paired cloud peer
       hushbox handoff board [--json]    hand them back to the board
       hushbox handoff status [--json]   where calls are, pressure, the log`

// handoffCmd is `hushbox handoff`: drives the running daemon's hand-off.
func handoffCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{handoffUsage}
	}
	fs := flag.NewFlagSet("handoff "+args[0], flag.ContinueOnError)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{handoffUsage}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out any
	switch args[0] {
	case handoff.ToCloud, handoff.ToBoard:
		c, err := handoff.DialControl(*data, control.TokenName)
		if err != nil {
			return err
		}
		r, err := c.Move(ctx, args[0])
		if err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "to %s: %d moved, %d failed, %d not concerned, %d ms\n", r.To, r.Moved, r.Failed, r.Skipped, r.MS)
			for _, l := range r.Results {
				if !l.OK {
					fmt.Fprintf(stdout, "  %s leg %s stayed: %s\n", l.Call, l.Leg, l.Error)
				}
			}
			return nil
		}
		out = r
	case "status":
		c, err := handoff.DialControl(*data, control.TokenName)
		if err != nil {
			return err
		}
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		if !*asJSON {
			forced := ""
			if st.Forced {
				forced = " (drill)"
			}
			fmt.Fprintf(stdout, "calls on %s%s; pressure %d; %d call(s), %d leg(s) on the cloud\n", st.Where, forced, st.Pressure, st.Calls, st.OnCloud)
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tCALL\tLEG\tTO\tRESULT\tMS\tTRIGGER")
			for _, e := range st.Log {
				res := "moved"
				if !e.OK {
					res = "stayed: " + e.Error
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", e.Time.Local().Format("15:04:05"), e.CallID, e.Leg, e.To, res, e.MS, e.Trigger)
			}
			return tw.Flush()
		}
		out = st
	default:
		return usageError{handoffUsage}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
