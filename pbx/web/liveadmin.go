package web

import (
	"context"

	"hushbox/pbx/call"
	"hushbox/pbx/control"
	"hushbox/pbx/store"
)

// liveAdmin is control.Admin for the running daemon: the store through
// control.Local, plus what only the daemon knows (registrations, calls,
// trunk status) through control.Live, with the same side effects the
// control socket has (a removed extension loses its bindings, trunk
// changes are picked up).
type liveAdmin struct {
	*control.Local
	live control.Live
}

// NewLiveAdmin joins the daemon's store view and live view into the Admin
// the web page needs. Close does not close the store (the daemon owns it).
func NewLiveAdmin(local *control.Local, live control.Live) control.Admin {
	return liveAdmin{Local: local, live: live}
}

func (a liveAdmin) Extensions(ctx context.Context) ([]control.ExtensionInfo, error) {
	exts, err := a.Local.Extensions(ctx)
	if err != nil {
		return nil, err
	}
	for i := range exts {
		exts[i].Registrations = a.live.RegistrationCount(exts[i].Number)
	}
	return exts, nil
}

func (a liveAdmin) RemoveExtension(ctx context.Context, number string) error {
	if err := a.Local.RemoveExtension(ctx, number); err != nil {
		return err
	}
	a.live.ExtensionRemoved(number)
	return nil
}

func (a liveAdmin) Registrations(context.Context) ([]control.Registration, error) {
	return a.live.Registrations(), nil
}

func (a liveAdmin) Calls(context.Context) ([]call.Info, error) { return a.live.Calls(), nil }

func (a liveAdmin) Identity(context.Context) (string, error) { return a.live.Identity(), nil }

func (a liveAdmin) AddTrunk(ctx context.Context, t store.Trunk, password string) error {
	if err := a.Local.AddTrunk(ctx, t, password); err != nil {
		return err
	}
	a.live.TrunksChanged()
	return nil
}

func (a liveAdmin) Trunks(ctx context.Context) ([]control.TrunkInfo, error) {
	ts, err := a.Local.Trunks(ctx)
	if err != nil {
		return nil, err
	}
	for i := range ts {
		ts[i].Status = a.live.TrunkStatus(ts[i].Name)
	}
	return ts, nil
}

func (a liveAdmin) RemoveTrunk(ctx context.Context, name string) error {
	if err := a.Local.RemoveTrunk(ctx, name); err != nil {
		return err
	}
	a.live.TrunksChanged()
	return nil
}

// Close leaves the store open: the daemon closes it.
func (a liveAdmin) Close() error { return nil }
