package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		a    Audio
	}{
		{"empty", Audio{Rate: 8000}},
		{"one sample", Audio{Rate: 8000, Samples: []int16{-32768}}},
		{"extremes", Audio{Rate: 16000, Samples: []int16{0, 1, -1, 32767, -32768, 1234}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tt.a); err != nil {
				t.Fatal(err)
			}
			if b.Len() != 44+2*len(tt.a.Samples) {
				t.Errorf("file of %d bytes, want %d", b.Len(), 44+2*len(tt.a.Samples))
			}
			got, err := Read(&b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Rate != tt.a.Rate || !slices.Equal(got.Samples, tt.a.Samples) && len(tt.a.Samples) > 0 {
				t.Errorf("got %+v, want %+v", got, tt.a)
			}
		})
	}
}

// build assembles a WAVE file from chunks.
func build(chunks ...[]byte) []byte {
	var body []byte
	body = append(body, "WAVE"...)
	for _, c := range chunks {
		body = append(body, c...)
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	return append(out, body...)
}

func chunk(id string, data []byte) []byte {
	c := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	c = append(c, data...)
	if len(data)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

func fmtChunk(format, channels uint16, rate uint32, bits uint16) []byte {
	b := binary.LittleEndian.AppendUint16(nil, format)
	b = binary.LittleEndian.AppendUint16(b, channels)
	b = binary.LittleEndian.AppendUint32(b, rate)
	b = binary.LittleEndian.AppendUint32(b, rate*uint32(channels)*uint32(bits)/8)
	b = binary.LittleEndian.AppendUint16(b, channels*bits/8)
	b = binary.LittleEndian.AppendUint16(b, bits)
	return chunk("fmt ", b)
}

func pcm(s ...int16) []byte {
	var b []byte
	for _, v := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

func TestReadVariants(t *testing.T) {
	tests := []struct {
		name    string
		file    []byte
		want    []int16
		rate    int
		wantErr error
	}{
		{"mono", build(fmtChunk(1, 1, 8000, 16), chunk("data", pcm(1, -2, 3))), []int16{1, -2, 3}, 8000, nil},
		{"stereo averaged", build(fmtChunk(1, 2, 8000, 16), chunk("data", pcm(100, 300, -5, -7))), []int16{200, -6}, 8000, nil},
		{"list chunk skipped", build(fmtChunk(1, 1, 22050, 16), chunk("LIST", []byte("abc")), chunk("data", pcm(7))), []int16{7}, 22050, nil},
		{"odd trailing byte ignored", build(fmtChunk(1, 1, 8000, 16), chunk("data", []byte{1, 0, 9})), []int16{1}, 8000, nil},
		{"8-bit refused", build(fmtChunk(1, 1, 8000, 8), chunk("data", []byte{1, 2})), nil, 0, ErrFormat},
		{"float refused", build(fmtChunk(3, 1, 8000, 32), chunk("data", make([]byte, 8))), nil, 0, ErrFormat},
		{"no data", build(fmtChunk(1, 1, 8000, 16)), nil, 0, ErrFormat},
		{"data before fmt", build(chunk("data", pcm(1)), fmtChunk(1, 1, 8000, 16)), nil, 0, ErrFormat},
		{"not riff", []byte("RIFX0000WAVEjunkjunk"), nil, 0, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Read(bytes.NewReader(tt.file))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Rate != tt.rate || !slices.Equal(a.Samples, tt.want) {
				t.Errorf("got rate %d samples %v, want %d %v", a.Rate, a.Samples, tt.rate, tt.want)
			}
		})
	}
}

func TestReadTruncated(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, Audio{Rate: 8000, Samples: make([]int16, 10)}); err != nil {
		t.Fatal(err)
	}
	full := b.Bytes()
	for n := 0; n < 44; n++ {
		if _, err := Read(bytes.NewReader(full[:n])); err == nil {
			t.Errorf("header cut at %d bytes read without error", n)
		}
	}
}

// TestSoxReadsOurFiles checks interoperability with sox when it is there.
func TestSoxReadsOurFiles(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sox is required in CI: %v", err)
		}
		t.Skip("sox not installed")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	out := filepath.Join(dir, "out.wav")
	x := make([]int16, 800)
	for i := range x {
		x[i] = int16(i*37%2000 - 1000)
	}
	if err := WriteFile(in, Audio{Rate: 8000, Samples: x}); err != nil {
		t.Fatal(err)
	}
	// sox copies the samples and rewrites the header its own way.
	if out, err := exec.CommandContext(t.Context(), sox, in, "-t", "wavpcm", out).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	a, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if a.Rate != 8000 || !slices.Equal(a.Samples, x) {
		t.Errorf("sox copy differs: rate %d, %d samples", a.Rate, len(a.Samples))
	}
}

func FuzzRead(f *testing.F) {
	f.Add(build(fmtChunk(1, 1, 8000, 16), chunk("data", pcm(1, 2, 3))))
	f.Add(build(fmtChunk(1, 2, 44100, 16), chunk("data", pcm(1, 2))))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		if a.Rate <= 0 || 2*len(a.Samples) > len(b) {
			t.Fatalf("rate %d, %d samples from %d bytes", a.Rate, len(a.Samples), len(b))
		}
	})
}
