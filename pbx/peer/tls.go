package peer

import (
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"

	"hushbox/pbx/tlscert"
)

// ErrNotPinned is a TLS certificate that is not the one pinned.
var ErrNotPinned = errors.New("peer: certificate is not the pinned one")

// Peer certificates are self-signed, so the chain is not checked: the
// fingerprint of the leaf is, and that is stronger than a chain (nobody but
// the holder of that one key can present it).

// ClientTLS is the TLS configuration for dialling a peer: it presents
// cert, and accepts the server only when its leaf certificate's
// fingerprint is pinnedFP.
func ClientTLS(cert tls.Certificate, pinnedFP string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
		// No resumption: every connection shows its certificate again.
		SessionTicketsDisabled: true,
		InsecureSkipVerify:     true, // replaced by the pinned check below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || subtle.ConstantTimeCompare([]byte(tlscert.Fingerprint(raw[0])), []byte(pinnedFP)) != 1 {
				return ErrNotPinned
			}
			return nil
		},
	}
}

// ServerTLS is the TLS configuration of the peer endpoint: it presents
// cert and requires a client certificate whose fingerprint paired accepts
// (a paired peer's), so an unpaired client fails the handshake before any
// request is read.
func ServerTLS(cert tls.Certificate, paired func(fp string) bool) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
		ClientAuth:   tls.RequireAnyClientCert,
		// No resumption: a removed peer must not come back on an old ticket.
		SessionTicketsDisabled: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !paired(tlscert.Fingerprint(raw[0])) {
				return ErrNotPinned
			}
			return nil
		},
	}
}
