package peer

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"golang.org/x/crypto/argon2"

	"hushbox/crypto/keys"
)

// Protocol is the pairing protocol version carried in every Hello.
const Protocol = 1

// Roles a box can have.
const (
	RoleBoard = "board"
	RoleCloud = "cloud"
)

const (
	nonceSize = 32
	macSize   = sha256.Size
	// maxMessage bounds a pairing request or response body.
	maxMessage = 4096
)

// The code is stretched with argon2id before HKDF so that a party who sees
// one MAC (an impostor of the responder, see docs/peers.md) cannot try all
// 2^40 codes in the ten minutes the code lives. The salt holds the
// initiator's nonce, so no table can be computed ahead.
const (
	stretchTime    = 1
	stretchMemory  = 16 * 1024 // KiB
	stretchThreads = 1
)

// Hello is what each side says about itself while pairing.
type Hello struct {
	Version  int            `json:"v"`
	Name     string         `json:"name"` // the sender's own name for itself
	Role     string         `json:"role"` // RoleBoard or RoleCloud
	Identity keys.PublicKey `json:"identity"`
	// CertFP is the SHA-256 fingerprint (AA:BB:... as tlscert prints it) of
	// the certificate the sender presents on its web port and peer links.
	CertFP string `json:"cert_fp"`
	// PeerPort is where the sender serves mutual TLS for peers; SIPPort is
	// its SIP TLS port for a hushbox trunk (0: none).
	PeerPort int    `json:"peer_port"`
	SIPPort  int    `json:"sip_port"`
	Nonce    []byte `json:"nonce"`
}

// Message is a pairing request (the initiator's Hello) or response (the
// responder's), with its MAC.
type Message struct {
	Hello
	MAC []byte `json:"mac"`
}

// ParseMessage decodes and checks a pairing message from the network. It
// never panics and accepts nothing it does not understand.
func ParseMessage(b []byte) (Message, error) {
	var m Message
	if len(b) > maxMessage {
		return m, errors.New("pairing message too long")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Message{}, fmt.Errorf("pairing message: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Message{}, errors.New("pairing message: trailing data")
	}
	if err := m.check(); err != nil {
		return Message{}, err
	}
	return m, nil
}

func (m Message) check() error {
	switch {
	case m.Version != Protocol:
		return fmt.Errorf("pairing message: protocol %d, want %d", m.Version, Protocol)
	case !validBoxName(m.Name):
		return errors.New("pairing message: bad name")
	case m.Role != RoleBoard && m.Role != RoleCloud:
		return errors.New("pairing message: bad role")
	case m.Identity == keys.PublicKey{}:
		return errors.New("pairing message: no identity")
	case !validFP(m.CertFP):
		return errors.New("pairing message: bad certificate fingerprint")
	case m.PeerPort < 1 || m.PeerPort > 65535 || m.SIPPort < 0 || m.SIPPort > 65535:
		return errors.New("pairing message: bad port")
	case len(m.Nonce) != nonceSize:
		return errors.New("pairing message: bad nonce")
	case len(m.MAC) != macSize:
		return errors.New("pairing message: bad MAC")
	}
	return nil
}

// validBoxName: 1 to 64 printable ASCII characters, shown to the admin.
func validBoxName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < 0x20 || n[i] > 0x7e {
			return false
		}
	}
	return true
}

// validFP: 32 colon-separated upper-case hex bytes.
func validFP(fp string) bool {
	if len(fp) != 32*3-1 {
		return false
	}
	for i := 0; i < len(fp); i++ {
		c := fp[i]
		if i%3 == 2 {
			if c != ':' {
				return false
			}
		} else if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// macKeys are the two MAC keys one code and one initiator nonce give: one
// per direction, so a request's MAC is never a valid response MAC.
type macKeys struct{ request, response []byte }

// deriveKeys stretches code with argon2id salted by the initiator's nonce,
// then expands it with HKDF-SHA256 into the two MAC keys.
func deriveKeys(code Code, initiatorNonce []byte) (macKeys, error) {
	salt := append([]byte("hushbox pair v1 "), initiatorNonce...)
	seed := argon2.IDKey([]byte(code), salt, stretchTime, stretchMemory, stretchThreads, 32)
	defer clear(seed)
	req, err := hkdf.Key(sha256.New, seed, nil, "hushbox pair v1 request mac", sha256.Size)
	if err != nil {
		return macKeys{}, fmt.Errorf("peer: derive keys: %w", err)
	}
	res, err := hkdf.Key(sha256.New, seed, nil, "hushbox pair v1 response mac", sha256.Size)
	if err != nil {
		return macKeys{}, fmt.Errorf("peer: derive keys: %w", err)
	}
	return macKeys{request: req, response: res}, nil
}

// transcript writes fields with length prefixes, so no two different
// transcripts encode the same.
type transcript struct{ b []byte }

func (t *transcript) add(field []byte) {
	t.b = binary.BigEndian.AppendUint32(t.b, uint32(len(field)))
	t.b = append(t.b, field...)
}

func (t *transcript) hello(h Hello) {
	t.add([]byte(strconv.Itoa(h.Version)))
	t.add([]byte(h.Name))
	t.add([]byte(h.Role))
	t.add(h.Identity[:])
	t.add([]byte(h.CertFP))
	t.add([]byte(strconv.Itoa(h.PeerPort)))
	t.add([]byte(strconv.Itoa(h.SIPPort)))
	t.add(h.Nonce)
}

// requestMAC binds the initiator's Hello to the certificate it saw on the
// responder's TLS connection: a man in the middle with its own certificate
// changes serverFP and so the MAC.
func requestMAC(k macKeys, req Hello, serverFP string) []byte {
	var t transcript
	t.add([]byte("request"))
	t.hello(req)
	t.add([]byte(serverFP))
	m := hmac.New(sha256.New, k.request)
	m.Write(t.b)
	return m.Sum(nil)
}

// responseMAC covers the whole exchange: the request, its MAC and the
// responder's Hello.
func responseMAC(k macKeys, req Message, serverFP string, res Hello) []byte {
	var t transcript
	t.add([]byte("response"))
	t.hello(req.Hello)
	t.add([]byte(serverFP))
	t.add(req.MAC)
	t.hello(res)
	m := hmac.New(sha256.New, k.response)
	m.Write(t.b)
	return m.Sum(nil)
}
