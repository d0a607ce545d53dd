package interop

import (
	"bufio"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
)

// wav16 builds a 16-bit mono PCM WAV of samples.
func wav16(samples []int16) []byte {
	data := make([]byte, 44+2*len(samples))
	copy(data, "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*len(samples)))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1)
	binary.LittleEndian.PutUint16(data[22:], 1)
	binary.LittleEndian.PutUint32(data[24:], 8000)
	binary.LittleEndian.PutUint32(data[28:], 16000)
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*len(samples)))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(s))
	}
	return data
}

func TestParseWAVMono16(t *testing.T) {
	good := wav16([]int16{1, -2, 32767})
	unclosed := wav16([]int16{5, 6})
	binary.LittleEndian.PutUint32(unclosed[40:], 0xffffffff) // recorder killed
	stereo := wav16([]int16{1, 2})
	binary.LittleEndian.PutUint16(stereo[22:], 2)
	tests := []struct {
		name    string
		in      []byte
		want    []float64
		wantErr bool
	}{
		{"good", good, []float64{1, -2, 32767}, false},
		{"unclosed data chunk", unclosed, []float64{5, 6}, false},
		{"stereo", stereo, nil, true},
		{"not riff", []byte("RIFX...."), nil, true},
		{"no data", good[:36], nil, true},
	}
	for _, tc := range tests {
		got, err := parseWAVMono16(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err %v, wantErr %v", tc.name, err, tc.wantErr)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

func TestBestNormXCorr(t *testing.T) {
	// White noise: no lag but the true one correlates.
	rng := rand.New(rand.NewPCG(1, 2))
	ref := make([]float64, 800)
	for i := range ref {
		ref[i] = rng.NormFloat64() * 1000
	}
	delayed := append(make([]float64, 37), ref...)
	inverted := make([]float64, len(ref))
	other := make([]float64, len(ref))
	for i := range ref {
		inverted[i] = -ref[i]
		other[i] = rng.NormFloat64() * 1000
	}
	tests := []struct {
		name    string
		got     []float64
		minR    float64
		maxR    float64
		wantLag int
	}{
		{"identical", ref, 0.9999, 1.0001, 0},
		{"delayed 37", delayed, 0.9999, 1.0001, 37},
		{"inverted", inverted, -2, 0.5, -2},
		{"unrelated", other, -2, 0.5, -2},
		{"too short", ref[:100], 0, 0, -1},
	}
	for _, tc := range tests {
		r, lag := bestNormXCorr(ref, tc.got, 100)
		if r < tc.minR || r > tc.maxR || (tc.wantLag != -2 && lag != tc.wantLag) {
			t.Errorf("%s: r=%.4f lag=%d, want r in [%.4f, %.4f] lag %d", tc.name, r, lag, tc.minR, tc.maxR, tc.wantLag)
		}
	}
}

func TestReadNetstring(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{`5:hello,`, "hello", false},
		{`0:,`, "", false},
		{`5:hello;`, "", true},
		{`x:hello,`, "", true},
		{`-1:,`, "", true},
		{`99999999:`, "", true},
		{`5:hel`, "", true},
	}
	for _, tc := range tests {
		got, err := readNetstring(bufio.NewReader(strings.NewReader(tc.in)), 1024)
		if (err != nil) != tc.wantErr || string(got) != tc.want {
			t.Errorf("%q: got %q, %v; want %q, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func FuzzParseWAVMono16(f *testing.F) {
	f.Add(wav16([]int16{1, 2, 3}))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseWAVMono16(data)
		if err == nil && 2*len(s) > len(data) {
			t.Fatalf("%d samples from %d bytes", len(s), len(data))
		}
	})
}

func FuzzReadNetstring(f *testing.F) {
	f.Add([]byte(`12:{"event":1},`))
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := readNetstring(bufio.NewReader(strings.NewReader(string(data))), 1<<16)
		if err == nil && len(msg) > len(data) {
			t.Fatalf("message longer than input")
		}
	})
}
