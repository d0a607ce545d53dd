//go:build portaudio

package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// alsaFile makes PortAudio's default ALSA device a sound card without
// hardware for this test: ALSA's file plugin (audio/portaudio/testdata/
// asound.conf.in, selected with ALSA_CONFIG_PATH) captures mic as the
// microphone and writes what is played to a raw file, which played reads
// back.
type alsaFile struct{ outRaw string }

func newALSAFile(t *testing.T, mic []int16) *alsaFile {
	t.Helper()
	dir := t.TempDir()
	raw := make([]byte, 2*len(mic))
	for i, s := range mic {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(s))
	}
	inRaw, outRaw := filepath.Join(dir, "mic.raw"), filepath.Join(dir, "played.raw")
	if err := os.WriteFile(inRaw, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "audio", "portaudio", "testdata", "asound.conf.in"))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("@IN@", inRaw, "@OUT@", outRaw, "@CAPLOG@", filepath.Join(dir, "captured.raw")).Replace(string(tmpl))
	confPath := filepath.Join(dir, "asound.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ALSA_CONFIG_PATH", confPath)
	return &alsaFile{outRaw: outRaw}
}

// played is what the program played through the device so far.
func (a *alsaFile) played(t *testing.T) []int16 {
	t.Helper()
	b, err := os.ReadFile(a.outRaw)
	if err != nil {
		t.Fatalf("nothing was played: %v", err)
	}
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return out
}
