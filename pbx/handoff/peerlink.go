package handoff

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"hushbox/pbx/peer"
)

// PeerLink is the peer link as the hand-off uses it: *peer.Manager
// satisfies it.
type PeerLink interface {
	Peer(name string) (peer.Peer, bool)
	PeerWithRole(role string) (peer.Peer, bool)
	Request(ctx context.Context, p peer.Peer, method, path string, in, out any) error
}

// PeerCloud finds the paired cloud peer on pl, for BoardConfig.Cloud.
func PeerCloud(pl PeerLink) func() (Cloud, error) {
	return func() (Cloud, error) {
		p, ok := pl.PeerWithRole(peer.RoleCloud)
		if !ok {
			return nil, ErrNoCloud
		}
		return peerCloud{pl: pl, p: p}, nil
	}
}

// peerCloud is the cloud's relay service over the peer link.
type peerCloud struct {
	pl PeerLink
	p  peer.Peer
}

func (c peerCloud) Allocate(ctx context.Context, req RelayRequest) (RelayGrant, error) {
	var g RelayGrant
	if err := c.pl.Request(ctx, c.p, http.MethodPost, RelayPath, req, &g); err != nil {
		return RelayGrant{}, err
	}
	return g, nil
}

func (c peerCloud) Free(ctx context.Context, id string) error {
	return c.pl.Request(ctx, c.p, http.MethodDelete, RelayPath+"/"+url.PathEscape(id), nil, nil)
}

// PeerSender forwards SIP to the board that owns a dialog over pl, for
// NewForwarder.
func PeerSender(pl PeerLink) Sender {
	return func(ctx context.Context, owner string, raw []byte) ([]byte, error) {
		p, ok := pl.Peer(owner)
		if !ok {
			return nil, fmt.Errorf("%w: %s", peer.ErrNoPeer, owner)
		}
		var out []byte
		if err := pl.Request(ctx, p, http.MethodPost, SIPPath, raw, &out); err != nil {
			return nil, err
		}
		return out, nil
	}
}
