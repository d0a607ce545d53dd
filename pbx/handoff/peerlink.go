package handoff

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

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

// ErrNoBatch: the cloud does not take batches (an older version); the
// board then asks for one relay at a time.
var ErrNoBatch = errors.New("handoff: the cloud takes no relay batches")

func (c peerCloud) AllocateAll(ctx context.Context, reqs []RelayRequest) ([]RelayBatchItem, error) {
	var items []RelayBatchItem
	if err := c.pl.Request(ctx, c.p, http.MethodPost, RelaysPath, reqs, &items); err != nil {
		if strings.Contains(err.Error(), "404 Not Found") || strings.Contains(err.Error(), "405 Method Not Allowed") {
			return nil, fmt.Errorf("%w: %v", ErrNoBatch, err)
		}
		return nil, err
	}
	return items, nil
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
