package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

func newKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func makeBundle(t testing.TB, priv ed25519.PrivateKey, version string, boards []string, payload []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := Sign(&b, version, boards, payload, priv); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// headerLen is where the payload starts in a bundle made by makeBundle.
func headerLen(t testing.TB, bundle []byte) int {
	t.Helper()
	return prefixLen + int(bundle[6])<<8 + int(bundle[7]) + ed25519.SignatureSize
}

func TestVerify(t *testing.T) {
	pub, priv := newKey(t)
	otherPub, _ := newKey(t)
	payload := bytes.Repeat([]byte("initramfs "), 5000)
	good := makeBundle(t, priv, "v1.2.3", []string{"rpi2", "cubietruck"}, payload)
	hl := headerLen(t, good)
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		bundle []byte
		key    ed25519.PublicKey
		board  string
		want   error
	}{
		{"good", good, pub, "rpi2", nil},
		{"good, second board", good, pub, "cubietruck", nil},
		{"wrong key", good, otherPub, "rpi2", ErrSignature},
		{"wrong board", good, pub, "cubieboard2", ErrBoard},
		{"flipped version byte", flip(prefixLen + 2), pub, "rpi2", ErrSignature},
		{"flipped hash byte", flip(hl - ed25519.SignatureSize - 1), pub, "rpi2", ErrSignature},
		{"flipped signature byte", flip(hl - 1), pub, "rpi2", ErrSignature},
		{"flipped first payload byte", flip(hl), pub, "rpi2", ErrPayload},
		{"flipped last payload byte", flip(len(good) - 1), pub, "rpi2", ErrPayload},
		{"truncated payload", good[:len(good)-1], pub, "rpi2", ErrTruncated},
		{"truncated header", good[:hl-1], pub, "rpi2", ErrTruncated},
		{"trailing byte", append(bytes.Clone(good), 0), pub, "rpi2", ErrTrailing},
		{"empty", nil, pub, "rpi2", ErrNotBundle},
		{"not a bundle", []byte("PK\x03\x04 this is a zip file, not a bundle"), pub, "rpi2", ErrNotBundle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Verify(bytes.NewReader(tt.bundle), tt.key, tt.board)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: err %v, want %v", err, tt.want)
			}
			if tt.want == nil && (h.Version != "v1.2.3" || h.PayloadLen != int64(len(payload))) {
				t.Fatalf("header %+v", h)
			}
		})
	}
}

func TestReadHeaderReadsNoPayload(t *testing.T) {
	pub, priv := newKey(t)
	b := makeBundle(t, priv, "v2", []string{"rpi2"}, []byte("payload"))
	r := bytes.NewReader(b)
	if _, err := ReadHeader(r, pub); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "payload" {
		t.Fatalf("after the header the reader holds %q, want the whole payload", rest)
	}
}

func TestNewerFormatSaysSo(t *testing.T) {
	pub, priv := newKey(t)
	b := makeBundle(t, priv, "v2", []string{"rpi2"}, []byte("payload"))
	b[5] = 2 // format 2: the signature no longer verifies, but the format is why
	if _, err := ReadHeader(bytes.NewReader(b), pub); !errors.Is(err, ErrFormat) {
		t.Fatalf("err %v, want ErrFormat", err)
	}
}

func TestSignRefusesBadInput(t *testing.T) {
	_, priv := newKey(t)
	tests := []struct {
		name    string
		version string
		boards  []string
		payload []byte
	}{
		{"no version", "", []string{"rpi2"}, []byte("x")},
		{"space in version", "v 1", []string{"rpi2"}, []byte("x")},
		{"no board", "v1", nil, []byte("x")},
		{"bad board", "v1", []string{"Rpi2"}, []byte("x")},
		{"empty payload", "v1", []string{"rpi2"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Sign(io.Discard, tt.version, tt.boards, tt.payload, priv); err == nil {
				t.Fatal("Sign accepted it")
			}
		})
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	pub, err := GenerateKey(dir+"/release.key", dir+"/release.pub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateKey(dir+"/release.key", dir+"/release2.pub"); err == nil {
		t.Fatal("GenerateKey overwrote an existing private key")
	}
	priv, err := LoadPrivateKey(dir + "/release.key")
	if err != nil {
		t.Fatal(err)
	}
	pub2, err := LoadPublicKey(dir + "/release.pub")
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(pub2) || !pub.Equal(priv.Public()) {
		t.Fatal("keys do not match after a round trip")
	}
	b := makeBundle(t, priv, "v1", []string{"rpi2"}, []byte("x"))
	if _, err := Verify(bytes.NewReader(b), pub2, "rpi2"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePublicKey([]byte("not pem")); err == nil {
		t.Fatal("ParsePublicKey accepted junk")
	}
}

func FuzzReadHeader(f *testing.F) {
	pub, priv := newKey(f)
	good := makeBundle(f, priv, "v1.0", []string{"rpi2", "cubietruck"}, []byte("payload"))
	f.Add(good)
	f.Add(good[:20])
	f.Add([]byte("HBUP\x00\x01\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Unsigned input: parse the header as if signed, and read it as a
		// bundle; neither may panic, and a signed-and-parsed header is valid.
		if h, err := parseHeader(b); err == nil {
			if ValidVersion(h.Version) != nil || len(h.Boards) == 0 || h.PayloadLen <= 0 || h.PayloadLen > MaxPayload {
				t.Fatalf("parseHeader accepted an invalid header %+v", h)
			}
			again, err := h.encode()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("header does not re-encode to its input: %v", err)
			}
		}
		_, _ = Verify(bytes.NewReader(b), pub, "rpi2")
	})
}

// BenchmarkVerify checks a 16 MiB bundle (the initramfs size target):
// signature, SHA-256 and length, as an install does while it streams.
func BenchmarkVerify(b *testing.B) {
	pub, priv := newKey(b)
	payload := make([]byte, 16<<20)
	rand.Read(payload)
	bundle := makeBundle(b, priv, "v1", []string{"rpi2"}, payload)
	b.SetBytes(int64(len(bundle)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Verify(bytes.NewReader(bundle), pub, "rpi2"); err != nil {
			b.Fatal(err)
		}
	}
}
