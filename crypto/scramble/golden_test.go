package scramble

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// goldenFile holds the test vectors every implementation and every GOARCH
// must reproduce bit for bit. Regenerate with go test -run TestGolden -update
// (only when the specification changes on purpose).
const goldenFile = "testdata/golden.json"

// goldenCase is one frame: input, key, (SSRC, frame number) and the
// expected outputs. Sample arrays are hex of little-endian int16.
type goldenCase struct {
	Name      string `json:"name"`
	FrameSize int    `json:"frame_size"`
	Key       string `json:"key"`
	SSRC      uint32 `json:"ssrc"`
	Frame     uint64 `json:"frame"`
	Input     string `json:"input"`
	// Scrambled is Scramble(Input); RoundTrip is Descramble(Scrambled);
	// Descrambled is Descramble(Input) (the receive path on any input).
	Scrambled   string `json:"scrambled"`
	RoundTrip   string `json:"round_trip"`
	Descrambled string `json:"descrambled"`
}

// goldenDigest covers many frames compactly: SHA-256 over, for frame
// f = 0..Frames-1, the little-endian bytes of Scramble(x_f) then
// Descramble(x_f), with x_f from digestInput, SSRC digestSSRC(N) and frame
// number digestFrame(f).
type goldenDigest struct {
	FrameSize int    `json:"frame_size"`
	Key       string `json:"key"`
	Frames    int    `json:"frames"`
	SHA256    string `json:"sha256"`
}

type goldenVectors struct {
	Comment string         `json:"comment"`
	Cases   []goldenCase   `json:"cases"`
	Digests []goldenDigest `json:"digests"`
}

func pcmHex(x []int16) string {
	b := make([]byte, 2*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return hex.EncodeToString(b)
}

func pcmFromHex(s string) ([]int16, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b)%2 != 0 {
		return nil, fmt.Errorf("bad sample hex: %v", err)
	}
	x := make([]int16, len(b)/2)
	for i := range x {
		x[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return x, nil
}

// splitmix64 is the integer generator of the digest inputs (Steele,
// Lea, Flood 2014), given so other implementations can reproduce them.
func splitmix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// digestInput returns frame f of the digest input: sample i is the top 16
// bits of the next splitmix64 output (state seeded with N*2^32 + f),
// arithmetically shifted right by f mod 12, so levels run from full scale
// down to a few LSB.
func digestInput(n, f int) []int16 {
	state := uint64(n)<<32 | uint64(f)
	x := make([]int16, n)
	for i := range x {
		x[i] = int16(splitmix64(&state)>>48) >> (f % 12)
	}
	return x
}

func digestSSRC(n int) uint32  { return 0x5eed0000 + uint32(n) }
func digestFrame(f int) uint64 { return uint64(f)*7919 + 3 }

// goldenInputs are the single-frame cases.
func goldenInputs() []goldenCase {
	speech := speechLike(2024, 8*320, true)
	impulse := make([]int16, 160)
	impulse[0] = 32767
	extreme := make([]int16, 160)
	for i := range extreme {
		extreme[i] = []int16{32767, -32768}[i/5%2]
	}
	keyA, keyB := hex.EncodeToString(testKeyA), hex.EncodeToString(testKeyB)
	return []goldenCase{
		{Name: "speech-80-key-b", FrameSize: 80, Key: keyB, SSRC: 0x1234abcd, Frame: 0, Input: pcmHex(speech[640:720])},
		{Name: "speech-160-key-b", FrameSize: 160, Key: keyB, SSRC: 0x1234abcd, Frame: 1, Input: pcmHex(speech[800:960])},
		{Name: "speech-160-key-a", FrameSize: 160, Key: keyA, SSRC: 7, Frame: 1 << 33, Input: pcmHex(speech[1600:1760])},
		{Name: "speech-240-key-a", FrameSize: 240, Key: keyA, SSRC: 0xffffffff, Frame: 99, Input: pcmHex(speech[960:1200])},
		{Name: "speech-320-key-b", FrameSize: 320, Key: keyB, SSRC: 1, Frame: 0xffffffffffffffff, Input: pcmHex(speech[1920:2240])},
		{Name: "silence-160", FrameSize: 160, Key: keyB, SSRC: 2, Frame: 2, Input: pcmHex(make([]int16, 160))},
		{Name: "impulse-160", FrameSize: 160, Key: keyB, SSRC: 3, Frame: 3, Input: pcmHex(impulse)},
		{Name: "full-scale-160-saturating", FrameSize: 160, Key: keyA, SSRC: 4, Frame: 4, Input: pcmHex(extreme)},
		{Name: "noise-160", FrameSize: 160, Key: keyA, SSRC: 5, Frame: 5, Input: pcmHex(digestInput(160, 12))},
	}
}

// computeCase fills the outputs of c with this implementation.
func computeCase(c goldenCase) (goldenCase, error) {
	key, err := hex.DecodeString(c.Key)
	if err != nil {
		return c, err
	}
	x, err := pcmFromHex(c.Input)
	if err != nil {
		return c, err
	}
	s, err := New(key, c.FrameSize)
	if err != nil {
		return c, err
	}
	y := make([]int16, c.FrameSize)
	z := make([]int16, c.FrameSize)
	d := make([]int16, c.FrameSize)
	if err := s.Scramble(y, x, c.SSRC, c.Frame); err != nil {
		return c, err
	}
	if err := s.Descramble(z, y, c.SSRC, c.Frame); err != nil {
		return c, err
	}
	if err := s.Descramble(d, x, c.SSRC, c.Frame); err != nil {
		return c, err
	}
	c.Scrambled, c.RoundTrip, c.Descrambled = pcmHex(y), pcmHex(z), pcmHex(d)
	return c, nil
}

func computeDigest(keyHex string, n, frames int) (goldenDigest, error) {
	key, err := hex.DecodeString(keyHex)
	if err != nil {
		return goldenDigest{}, err
	}
	s, err := New(key, n)
	if err != nil {
		return goldenDigest{}, err
	}
	h := sha256.New()
	y := make([]int16, n)
	b := make([]byte, 2*n)
	for f := 0; f < frames; f++ {
		x := digestInput(n, f)
		for _, op := range []func([]int16, []int16, uint32, uint64) error{s.Scramble, s.Descramble} {
			if err := op(y, x, digestSSRC(n), digestFrame(f)); err != nil {
				return goldenDigest{}, err
			}
			for i, v := range y {
				binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
			}
			h.Write(b)
		}
	}
	return goldenDigest{FrameSize: n, Key: keyHex, Frames: frames, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

const digestFrames = 500

func generateGolden() (goldenVectors, error) {
	g := goldenVectors{Comment: "hushbox crypto/scramble test vectors; see docs/scrambler.md. Samples are hex of little-endian int16."}
	for _, c := range goldenInputs() {
		c, err := computeCase(c)
		if err != nil {
			return g, fmt.Errorf("%s: %w", c.Name, err)
		}
		g.Cases = append(g.Cases, c)
	}
	for _, n := range frameSizes {
		for _, key := range [][]byte{testKeyA, testKeyB} {
			d, err := computeDigest(hex.EncodeToString(key), n, digestFrames)
			if err != nil {
				return g, err
			}
			g.Digests = append(g.Digests, d)
		}
	}
	return g, nil
}

// TestGolden checks this build against the checked-in vectors (and
// regenerates them with -update).
func TestGolden(t *testing.T) {
	if *update {
		g, err := generateGolden()
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.MarshalIndent(g, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (generate with go test -run TestGolden -update)", err)
	}
	var g goldenVectors
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 || len(g.Digests) == 0 {
		t.Fatal("golden file has no vectors")
	}
	for _, want := range g.Cases {
		t.Run(want.Name, func(t *testing.T) {
			got, err := computeCase(goldenCase{Name: want.Name, FrameSize: want.FrameSize, Key: want.Key, SSRC: want.SSRC, Frame: want.Frame, Input: want.Input})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct{ name, got, want string }{
				{"scrambled", got.Scrambled, want.Scrambled},
				{"round trip", got.RoundTrip, want.RoundTrip},
				{"descrambled", got.Descrambled, want.Descrambled},
			} {
				if f.got != f.want {
					t.Errorf("%s output differs from the golden vector", f.name)
				}
			}
		})
	}
	for _, want := range g.Digests {
		t.Run(fmt.Sprintf("digest-%d-%dbit", want.FrameSize, len(want.Key)*4), func(t *testing.T) {
			got, err := computeDigest(want.Key, want.FrameSize, want.Frames)
			if err != nil {
				t.Fatal(err)
			}
			if got.SHA256 != want.SHA256 {
				t.Errorf("digest over %d frames %s, want %s", want.Frames, got.SHA256, want.SHA256)
			}
		})
	}
}
