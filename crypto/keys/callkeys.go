package keys

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
)

// CallKeys are the keys of one call as seen from one side. The offerer's Tx
// keys equal the answerer's Rx keys and the other way round; both sides get
// the same SAS.
type CallKeys struct {
	// ScrambleTx and ScrambleRx key the scrambler (crypto/scramble) for the
	// audio this side sends and receives.
	ScrambleTx, ScrambleRx [32]byte
	// SRTPTx and SRTPRx are SRTP master key (16 bytes) || master salt (14
	// bytes) for AES_CM_128_HMAC_SHA1_80, per direction, for end-to-end SRTP.
	SRTPTx, SRTPRx [30]byte
	// SAS is the short authentication string both users read aloud: 4
	// characters of z-base-32 (20 bits), as in ZRTP's B32 SAS.
	SAS string
	// PeerIdentity is the identity key that signed the peer's share.
	PeerIdentity PublicKey
}

// Wipe overwrites the keys.
func (k *CallKeys) Wipe() {
	clear(k.ScrambleTx[:])
	clear(k.ScrambleRx[:])
	clear(k.SRTPTx[:])
	clear(k.SRTPRx[:])
	k.SAS = ""
}

const callKeysInfo = "hushbox call keys v1"

// sasAlphabet is z-base-32, the alphabet of ZRTP's B32 SAS (RFC 6189).
const sasAlphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"

// deriveCallKeys expands the X25519 secret:
//
//	salt = SHA-256(offer ephemeral || answer ephemeral)
//	info = "hushbox call keys v1" || len(binding) (4 bytes, big endian)
//	       || binding || offer identity || answer identity
//	OKM  = HKDF-SHA256(shared, salt, info, 128)
//
// OKM[0:32] scrambles offerer to answerer, OKM[32:64] answerer to offerer,
// OKM[64:94] and OKM[94:124] are the SRTP keys in the same order, and the
// first 20 bits of OKM[124:128] make the SAS.
func deriveCallKeys(shared []byte, offer, answer Share, binding string, self Role) (*CallKeys, error) {
	saltIn := make([]byte, 0, 64)
	saltIn = append(saltIn, offer.Ephemeral[:]...)
	saltIn = append(saltIn, answer.Ephemeral[:]...)
	salt := sha256.Sum256(saltIn)

	info := make([]byte, 0, len(callKeysInfo)+4+len(binding)+64)
	info = append(info, callKeysInfo...)
	info = binary.BigEndian.AppendUint32(info, uint32(len(binding)))
	info = append(info, binding...)
	info = append(info, offer.Identity[:]...)
	info = append(info, answer.Identity[:]...)

	okm, err := hkdf.Key(sha256.New, shared, salt[:], string(info), 128)
	if err != nil {
		return nil, err
	}
	defer clear(okm)
	var k CallKeys
	o2a, a2o := okm[0:32], okm[32:64]
	so2a, sa2o := okm[64:94], okm[94:124]
	if self == Offer {
		copy(k.ScrambleTx[:], o2a)
		copy(k.ScrambleRx[:], a2o)
		copy(k.SRTPTx[:], so2a)
		copy(k.SRTPRx[:], sa2o)
	} else {
		copy(k.ScrambleTx[:], a2o)
		copy(k.ScrambleRx[:], o2a)
		copy(k.SRTPTx[:], sa2o)
		copy(k.SRTPRx[:], so2a)
	}
	k.SAS = sas(binary.BigEndian.Uint32(okm[124:128]))
	return &k, nil
}

// sas encodes the top 20 bits of v as 4 z-base-32 characters.
func sas(v uint32) string {
	b := make([]byte, 4)
	for i := range b {
		b[i] = sasAlphabet[(v>>(27-5*i))&31]
	}
	return string(b)
}
