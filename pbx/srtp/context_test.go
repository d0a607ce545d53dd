package srtp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Known answers from libsrtp's test driver (the SRTP stack of baresip,
// Asterisk and FreeSWITCH), SSRC 0xcafebabe, sequence 0x1234, ROC 0.
const (
	vecRTP  = "800f1234decafbadcafebabeabababababababababababababababab"
	vecRTCP = "81c8000bcafebabe" + "abababababababababababababababab"
)

func TestKnownAnswers(t *testing.T) {
	tests := []struct {
		name      string
		suite     Suite
		key, salt string
		srtp      string
		srtcp     string
	}{
		{"AES_CM_128_HMAC_SHA1_80", AES128CMSHA1_80,
			"e1f97a0d3e018be0d64fa32c06de4139", "0ec675ad498afeebb6960b3aabe6",
			"800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb",
			"81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798"},
		{"AEAD_AES_128_GCM", AEADAES128GCM,
			"000102030405060708090a0b0c0d0e0f", "a0a1a2a3a4a5a6a7a8a9aaab",
			"800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392",
			"81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Crypto{Tag: 1, Suite: tc.suite, Key: append(unhex(t, tc.key), unhex(t, tc.salt)...)}
			enc, err := NewEncrypter(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := enc.EncryptRTP(withRoom(unhex(t, vecRTP)))
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.srtp); !bytes.Equal(got, want) {
				t.Errorf("SRTP\n got %x\nwant %x", got, want)
			}
			got, err = enc.EncryptRTCP(withRoom(unhex(t, vecRTCP)))
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.srtcp); !bytes.Equal(got, want) {
				t.Errorf("SRTCP\n got %x\nwant %x", got, want)
			}

			dec, err := NewDecrypter(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err = dec.DecryptRTP(unhex(t, tc.srtp))
			if err != nil || !bytes.Equal(got, unhex(t, vecRTP)) {
				t.Errorf("decrypt SRTP: %x, %v", got, err)
			}
			got, err = dec.DecryptRTCP(unhex(t, tc.srtcp))
			if err != nil || !bytes.Equal(got, unhex(t, vecRTCP)) {
				t.Errorf("decrypt SRTCP: %x, %v", got, err)
			}
		})
	}
}

// withRoom copies b into a buffer with Overhead spare capacity.
func withRoom(b []byte) []byte {
	return append(make([]byte, 0, len(b)+Overhead), b...)
}

func rtpPkt(ssrc uint32, seq uint16, payload []byte) []byte {
	b := make([]byte, 12, 12+len(payload)+Overhead)
	b[0], b[1] = 0x80, 0
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], uint32(seq)*160)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return append(b, payload...)
}

func rtcpRR(ssrc uint32) []byte {
	b := make([]byte, 8, 8+Overhead)
	b[0], b[1], b[3] = 0x80, 201, 1
	binary.BigEndian.PutUint32(b[4:], ssrc)
	return b
}

func pairOf(t testing.TB, s Suite) (enc, dec *Context) {
	t.Helper()
	c, err := NewCrypto(1, s)
	if err != nil {
		t.Fatal(err)
	}
	if enc, err = NewEncrypter(c); err != nil {
		t.Fatal(err)
	}
	if dec, err = NewDecrypter(c); err != nil {
		t.Fatal(err)
	}
	return enc, dec
}

func TestRoundTripEverySuite(t *testing.T) {
	for s := range suites {
		t.Run(s.String(), func(t *testing.T) {
			enc, dec := pairOf(t, s)
			payload := bytes.Repeat([]byte{0x55}, 160)
			for seq := uint16(65530); seq != 6; seq++ { // across a rollover
				pkt := rtpPkt(0x11223344, seq, payload)
				plain := bytes.Clone(pkt)
				srtp, err := enc.EncryptRTP(pkt)
				if err != nil {
					t.Fatalf("encrypt seq %d: %v", seq, err)
				}
				if &srtp[0] != &pkt[0] {
					t.Fatal("EncryptRTP did not work in place")
				}
				if bytes.Contains(srtp, payload[:16]) {
					t.Fatal("payload readable after encryption")
				}
				got, err := dec.DecryptRTP(srtp)
				if err != nil {
					t.Fatalf("decrypt seq %d: %v", seq, err)
				}
				if !bytes.Equal(got, plain) {
					t.Fatalf("seq %d: round trip changed the packet", seq)
				}
			}
			rr := rtcpRR(0x11223344)
			srtcp, err := enc.EncryptRTCP(bytes.Clone(rr))
			if err != nil {
				t.Fatal(err)
			}
			got, err := dec.DecryptRTCP(srtcp)
			if err != nil || !bytes.Equal(got, rr) {
				t.Fatalf("RTCP round trip: %x, %v", got, err)
			}
		})
	}
}

func TestTamperedRejected(t *testing.T) {
	for _, s := range []Suite{AES128CMSHA1_80, AES128CMSHA1_32, AEADAES128GCM} {
		t.Run(s.String(), func(t *testing.T) {
			enc, dec := pairOf(t, s)
			srtp, _ := enc.EncryptRTP(rtpPkt(1, 100, make([]byte, 160)))
			for _, at := range []int{3, 11, 20, len(srtp) - 1} { // header, payload, tag
				bad := bytes.Clone(srtp)
				bad[at] ^= 0x01
				if _, err := dec.DecryptRTP(bad); !errors.Is(err, ErrAuth) {
					t.Errorf("flipped octet %d: %v, want ErrAuth", at, err)
				}
			}
			if _, err := dec.DecryptRTP(srtp[:12]); err == nil {
				t.Error("truncated packet accepted")
			}
			// The genuine packet still passes: failures left no state.
			if _, err := dec.DecryptRTP(srtp); err != nil {
				t.Errorf("genuine packet after forgeries: %v", err)
			}
			srtcp, _ := enc.EncryptRTCP(rtcpRR(1))
			bad := bytes.Clone(srtcp)
			bad[9] ^= 0x80
			if _, err := dec.DecryptRTCP(bad); !errors.Is(err, ErrAuth) {
				t.Errorf("tampered SRTCP: %v, want ErrAuth", err)
			}
			if _, err := dec.DecryptRTCP(srtcp); err != nil {
				t.Errorf("genuine SRTCP: %v", err)
			}
		})
	}
}

func TestWrongKeyRejected(t *testing.T) {
	enc, _ := pairOf(t, AES128CMSHA1_80)
	_, other := pairOf(t, AES128CMSHA1_80)
	srtp, _ := enc.EncryptRTP(rtpPkt(1, 1, make([]byte, 20)))
	if _, err := other.DecryptRTP(srtp); !errors.Is(err, ErrAuth) {
		t.Errorf("other key: %v, want ErrAuth", err)
	}
}

func TestReplayRejected(t *testing.T) {
	enc, dec := pairOf(t, AES128CMSHA1_80)
	first, _ := enc.EncryptRTP(rtpPkt(1, 10, make([]byte, 20)))
	copyFirst := bytes.Clone(first)
	if _, err := dec.DecryptRTP(first); err != nil {
		t.Fatal(err)
	}
	if _, err := dec.DecryptRTP(copyFirst); !errors.Is(err, ErrReplay) {
		t.Errorf("replayed SRTP: %v, want ErrReplay", err)
	}
	// Far behind the window: refused as a replay too.
	old, _ := enc.EncryptRTP(rtpPkt(2, 1, make([]byte, 20)))
	for seq := uint16(2); seq < 2+ReplayWindow+5; seq++ {
		p, _ := enc.EncryptRTP(rtpPkt(2, seq, make([]byte, 20)))
		if _, err := dec.DecryptRTP(p); err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
	}
	if _, err := dec.DecryptRTP(old); !errors.Is(err, ErrReplay) {
		t.Errorf("packet older than the window: %v, want ErrReplay", err)
	}
	srtcp, _ := enc.EncryptRTCP(rtcpRR(1))
	again := bytes.Clone(srtcp)
	if _, err := dec.DecryptRTCP(srtcp); err != nil {
		t.Fatal(err)
	}
	if _, err := dec.DecryptRTCP(again); !errors.Is(err, ErrReplay) {
		t.Errorf("replayed SRTCP: %v, want ErrReplay", err)
	}
}

// TestOutOfOrderAccepted: reordering inside the window is not a replay.
func TestOutOfOrderAccepted(t *testing.T) {
	enc, dec := pairOf(t, AEADAES128GCM)
	var pkts [][]byte
	for seq := uint16(1); seq <= 5; seq++ {
		p, _ := enc.EncryptRTP(rtpPkt(3, seq, []byte{byte(seq)}))
		pkts = append(pkts, p)
	}
	for _, i := range []int{0, 2, 1, 4, 3} {
		if _, err := dec.DecryptRTP(pkts[i]); err != nil {
			t.Errorf("packet %d out of order: %v", i+1, err)
		}
	}
}

// TestSendSideReplay: the encrypter never uses an index twice, whatever
// the other leg feeds it.
func TestSendSideReplay(t *testing.T) {
	enc, _ := pairOf(t, AES128CMSHA1_80)
	if _, err := enc.EncryptRTP(rtpPkt(1, 500, []byte("secret one"))); err != nil {
		t.Fatal(err)
	}
	if _, err := enc.EncryptRTP(rtpPkt(1, 500, []byte("chosen two"))); !errors.Is(err, ErrReplay) {
		t.Errorf("same SSRC and sequence encrypted twice: %v, want ErrReplay", err)
	}
	if _, err := enc.EncryptRTP(rtpPkt(1, 499, nil)); err != nil {
		t.Errorf("late packet inside the window: %v", err)
	}
	if _, err := enc.EncryptRTP(rtpPkt(2, 500, nil)); err != nil {
		t.Errorf("same sequence, other SSRC: %v", err)
	}
}

func TestTooManySSRCs(t *testing.T) {
	enc, _ := pairOf(t, AES128CMSHA1_80)
	for ssrc := uint32(0); ssrc < MaxSSRCs; ssrc++ {
		if _, err := enc.EncryptRTP(rtpPkt(ssrc, 1, nil)); err != nil {
			t.Fatalf("ssrc %d: %v", ssrc, err)
		}
		if _, err := enc.EncryptRTCP(rtcpRR(ssrc)); err != nil {
			t.Fatalf("rtcp ssrc %d: %v", ssrc, err)
		}
	}
	if _, err := enc.EncryptRTP(rtpPkt(MaxSSRCs, 1, nil)); !errors.Is(err, ErrTooManySSRCs) {
		t.Errorf("SSRC beyond the limit: %v", err)
	}
	if _, err := enc.EncryptRTCP(rtcpRR(MaxSSRCs)); !errors.Is(err, ErrTooManySSRCs) {
		t.Errorf("RTCP SSRC beyond the limit: %v", err)
	}
	if _, err := enc.EncryptRTP(rtpPkt(0, 2, nil)); err != nil {
		t.Errorf("known SSRC refused: %v", err)
	}
}

func TestDirection(t *testing.T) {
	enc, dec := pairOf(t, AES128CMSHA1_80)
	if _, err := enc.DecryptRTP(rtpPkt(1, 1, nil)); !errors.Is(err, ErrDirection) {
		t.Error("encrypter decrypted RTP")
	}
	if _, err := enc.DecryptRTCP(rtcpRR(1)); !errors.Is(err, ErrDirection) {
		t.Error("encrypter decrypted RTCP")
	}
	if _, err := dec.EncryptRTP(rtpPkt(1, 1, nil)); !errors.Is(err, ErrDirection) {
		t.Error("decrypter encrypted RTP")
	}
	if _, err := dec.EncryptRTCP(rtcpRR(1)); !errors.Is(err, ErrDirection) {
		t.Error("decrypter encrypted RTCP")
	}
	if !enc.Encrypts() || dec.Encrypts() || enc.Suite() != AES128CMSHA1_80 {
		t.Error("accessors")
	}
	for _, bad := range [][]byte{nil, {0x80}, make([]byte, 11), append([]byte{0x40}, make([]byte, 20)...)} {
		if _, err := enc.EncryptRTP(bad); !errors.Is(err, ErrPacket) {
			t.Errorf("EncryptRTP(%x): %v", bad, err)
		}
		if _, err := dec.DecryptRTP(bad); err == nil {
			t.Errorf("DecryptRTP(%x) accepted", bad)
		}
	}
}

func TestMKI(t *testing.T) {
	c, err := ParseCrypto(rfcExample)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncrypter(c)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecrypter(c)
	if err != nil {
		t.Fatal(err)
	}
	pkt := rtpPkt(1, 1, []byte("hello"))
	plain := bytes.Clone(pkt)
	srtp, err := enc.EncryptRTP(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if len(srtp) != len(plain)+4+10 || !bytes.Equal(srtp[len(srtp)-14:len(srtp)-10], []byte{0, 0, 0, 1}) {
		t.Fatalf("SRTP packet %x lacks MKI 00000001 before the tag", srtp)
	}
	got, err := dec.DecryptRTP(srtp)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("MKI round trip: %v", err)
	}
	noMKI, _ := NewDecrypter(Crypto{Tag: 1, Suite: c.Suite, Key: c.Key})
	srtp2, _ := enc.EncryptRTP(rtpPkt(1, 2, []byte("hello")))
	if _, err := noMKI.DecryptRTP(srtp2); err == nil {
		t.Error("packet with MKI accepted by a context without")
	}
}

func TestPairUpdate(t *testing.T) {
	remote := mustNew(t, 1, AES128CMSHA1_80)
	local := mustNew(t, 1, AES128CMSHA1_80)
	p, err := NewPair(Keys{Remote: remote, Local: local})
	if err != nil {
		t.Fatal(err)
	}
	if p.In.Encrypts() || !p.Out.Encrypts() {
		t.Fatal("In must decrypt and Out encrypt")
	}
	same, _ := p.Update(Keys{Remote: remote, Local: local})
	if same.In != p.In || same.Out != p.Out || !p.Same(Keys{Remote: remote, Local: local}) {
		t.Error("unchanged keys made new contexts (the rollover counter would restart)")
	}
	newRemote := mustNew(t, 1, AEADAES128GCM)
	n, err := p.Update(Keys{Remote: newRemote, Local: local})
	if err != nil {
		t.Fatal(err)
	}
	if n.In == p.In || n.Out != p.Out || n.In.Suite() != AEADAES128GCM {
		t.Error("a new remote key must replace In only")
	}
	// The caller's key slices may be reused afterwards: the pair keeps copies.
	local.Key[0] ^= 0xFF
	if !n.Same(Keys{Remote: newRemote, Local: Crypto{Tag: 1, Suite: local.Suite, Key: append([]byte{local.Key[0] ^ 0xFF}, local.Key[1:]...)}}) {
		t.Error("pair does not keep its own copy of the keys")
	}
	if _, err := NewPair(Keys{Remote: remote}); err == nil {
		t.Error("pair without a local key")
	}
	var nilPair *Pair
	if nilPair.String() != "plain RTP" || nilPair.Same(Keys{}) {
		t.Error("nil pair")
	}
}

func TestNoAllocations(t *testing.T) {
	for _, s := range []Suite{AES128CMSHA1_80, AEADAES128GCM} {
		enc, dec := pairOf(t, s)
		pkt := rtpPkt(7, 0, make([]byte, 160))
		seq := uint16(0)
		allocs := testing.AllocsPerRun(200, func() {
			seq++
			pkt = pkt[:12+160]
			binary.BigEndian.PutUint16(pkt[2:], seq)
			out, err := enc.EncryptRTP(pkt)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dec.DecryptRTP(out); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %.1f allocations per RTP packet encrypted and decrypted", s, allocs)
		}
		rr := rtcpRR(7)
		allocs = testing.AllocsPerRun(200, func() {
			rr = rr[:8]
			out, err := enc.EncryptRTCP(rr)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dec.DecryptRTCP(out); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %.1f allocations per RTCP packet", s, allocs)
		}
	}
}
