package g711

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"
)

// Golden digests produced by Python 3.11's audioop (a C port of the same
// Sun g711.c revision) over the full 16-bit sweep -32768..32767 and over
// all 256 codes (decoded samples as little-endian int16):
//
//	samples = struct.pack('<65536h', *range(-32768, 32768))
//	sha256(audioop.lin2ulaw(samples, 2)), sha256(audioop.lin2alaw(samples, 2))
//	sha256(audioop.ulaw2lin(bytes(range(256)), 2)), ... alaw2lin ...
const (
	goldenUlawSweep  = "81d633c9e6972a18c74a58720b96cb8ca0bdd096d4060b646dd708c3b846019a"
	goldenAlawSweep  = "38488f6fd710f4686360edc4d38639f96c491595ef93f8eb8d62d5e07ca6ce7b"
	goldenUlawDecode = "3dab54339e520bb2c924826e3b72a917a2b612e9fd12fc867500f1d983a75827"
	goldenAlawDecode = "e04788d110e58ff8c70c93b8480190d973e3b67876b6119abbaec766cc75c174"
)

func TestEncodeKnownVectors(t *testing.T) {
	// Expected codes cross-checked with audioop.lin2ulaw / lin2alaw.
	tests := []struct {
		sample     int16
		ulaw, alaw byte
	}{
		{0, 0xFF, 0xD5},
		{1, 0xFF, 0xD5},
		{-1, 0x7E, 0x55},
		{-4, 0x7E, 0x55},
		{-8, 0x7E, 0x55},
		{4, 0xFE, 0xD5},
		{8, 0xFE, 0xD5},
		{100, 0xF2, 0xD3},
		{-100, 0x72, 0x53},
		{1000, 0xCE, 0xFA},
		{-1000, 0x4E, 0x7A},
		{32767, 0x80, 0xAA},
		{-32768, 0x00, 0x2A},
	}
	for _, tc := range tests {
		if got := EncodeUlaw(tc.sample); got != tc.ulaw {
			t.Errorf("EncodeUlaw(%d) = %#02x, want %#02x", tc.sample, got, tc.ulaw)
		}
		if got := EncodeAlaw(tc.sample); got != tc.alaw {
			t.Errorf("EncodeAlaw(%d) = %#02x, want %#02x", tc.sample, got, tc.alaw)
		}
	}
}

func TestDecodeKnownVectors(t *testing.T) {
	tests := []struct {
		name string
		dec  func(byte) int16
		code byte
		want int16
	}{
		{"ulaw 0xFF (+0)", DecodeUlaw, 0xFF, 0},
		{"ulaw 0x7F (-0)", DecodeUlaw, 0x7F, 0},
		{"ulaw 0x80 (+max)", DecodeUlaw, 0x80, 32124},
		{"ulaw 0x00 (-max)", DecodeUlaw, 0x00, -32124},
		{"ulaw 0xFE", DecodeUlaw, 0xFE, 8},
		{"alaw 0xD5 (+min)", DecodeAlaw, 0xD5, 8},
		{"alaw 0x55 (-min)", DecodeAlaw, 0x55, -8},
		{"alaw 0xAA (+max)", DecodeAlaw, 0xAA, 32256},
		{"alaw 0x2A (-max)", DecodeAlaw, 0x2A, -32256},
		{"alaw 0x80", DecodeAlaw, 0x80, 5504},
	}
	for _, tc := range tests {
		if got := tc.dec(tc.code); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestGoldenSweep checks every 16-bit sample and every code against the
// audioop digests, so the tables are bit-exact with the reference.
func TestGoldenSweep(t *testing.T) {
	u := make([]byte, 0, 65536)
	a := make([]byte, 0, 65536)
	for i := -32768; i < 32768; i++ {
		u = append(u, EncodeUlaw(int16(i)))
		a = append(a, EncodeAlaw(int16(i)))
	}
	var ud, ad []byte
	for c := range 256 {
		ud = binary.LittleEndian.AppendUint16(ud, uint16(DecodeUlaw(byte(c))))
		ad = binary.LittleEndian.AppendUint16(ad, uint16(DecodeAlaw(byte(c))))
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"ulaw encode sweep", u, goldenUlawSweep},
		{"alaw encode sweep", a, goldenAlawSweep},
		{"ulaw decode table", ud, goldenUlawDecode},
		{"alaw decode table", ad, goldenAlawDecode},
	}
	for _, tc := range tests {
		sum := sha256.Sum256(tc.data)
		if got := hex.EncodeToString(sum[:]); got != tc.want {
			t.Errorf("%s: sha256 %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestTablesMatchReference compares the table lookups with the scalar
// reference for every input, which pins down where a golden digest fails.
func TestTablesMatchReference(t *testing.T) {
	for i := -32768; i < 32768; i++ {
		s := int16(i)
		if got, want := EncodeUlaw(s), refLinearToUlaw(s); got != want {
			t.Fatalf("EncodeUlaw(%d) = %#02x, reference %#02x", s, got, want)
		}
		if got, want := EncodeAlaw(s), refLinearToAlaw(s); got != want {
			t.Fatalf("EncodeAlaw(%d) = %#02x, reference %#02x", s, got, want)
		}
	}
}

// TestRoundTripError checks the full 16-bit sweep: decoding what was
// encoded lands within half a quantisation step of the input (mu-law gets
// 3 more because it codes only the top 14 bits), and samples beyond the
// largest code clip to it.
func TestRoundTripError(t *testing.T) {
	tests := []struct {
		name   string
		enc    func(int16) byte
		dec    func(byte) int16
		max    int
		bound  func(code byte) int
		ranged int // largest decoded magnitude
	}{
		{
			name: "ulaw", enc: EncodeUlaw, dec: DecodeUlaw, ranged: 32124,
			bound: func(c byte) int {
				seg := int(^c&segMask) >> segShift
				return (8<<seg)/2 + 3
			},
		},
		{
			name: "alaw", enc: EncodeAlaw, dec: DecodeAlaw, ranged: 32256,
			bound: func(c byte) int {
				seg := int((c^0x55)&segMask) >> segShift
				step := 16 << max(seg-1, 0)
				return step / 2
			},
		},
	}
	for _, tc := range tests {
		for i := -32768; i < 32768; i++ {
			c := tc.enc(int16(i))
			d := int(tc.dec(c))
			if i > tc.ranged || i < -tc.ranged {
				if want := tc.ranged * sign(i); d != want {
					t.Fatalf("%s: %d decodes to %d, want clip to %d", tc.name, i, d, want)
				}
				continue
			}
			if err := abs(d - i); err > tc.bound(c) {
				t.Fatalf("%s: %d -> %#02x -> %d, error %d above bound %d", tc.name, i, c, d, err, tc.bound(c))
			}
		}
	}
}

// TestCodeRoundTrip: every code decodes to a sample that encodes back to
// the same code, except mu-law's negative zero (0x7F) which becomes +0.
func TestCodeRoundTrip(t *testing.T) {
	for c := range 256 {
		b := byte(c)
		want := b
		if b == 0x7F {
			want = 0xFF
		}
		if got := EncodeUlaw(DecodeUlaw(b)); got != want {
			t.Errorf("ulaw %#02x -> %d -> %#02x", b, DecodeUlaw(b), got)
		}
		if got := EncodeAlaw(DecodeAlaw(b)); got != b {
			t.Errorf("alaw %#02x -> %d -> %#02x", b, DecodeAlaw(b), got)
		}
	}
}

func sign(v int) int {
	if v < 0 {
		return -1
	}
	return 1
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
