package portaudio

import (
	"flag"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"hushbox/audio/wav"
)

// The speech-like test signal of this package and of `hushbox audio test`'s
// PortAudio test (cmd/hushbox): testdata/vowels.wav, 3 s at 8 kHz. It is
// synthetic so the tests need no speech synthesiser: a glottal pulse train
// (pitch gliding 100-160 Hz) shaped by the formants of five vowels, in
// syllables of 240 ms with 80 ms pauses. Regenerate with
// go test ./audio/portaudio -run TestVowelsFixture -update.

var update = flag.Bool("update", false, "rewrite testdata/vowels.wav")

// vowels returns n samples of the speech-like signal at the given rate.
func vowels(n, rate int) []int16 {
	formants := [][3]float64{{730, 1090, 2440}, {270, 2290, 3010}, {300, 870, 2240}, {530, 1840, 2480}, {570, 840, 2410}}
	const syll, pause = 0.24, 0.08
	out := make([]int16, n)
	phase := 0.0
	for i := range out {
		t := float64(i) / float64(rate)
		k := int(t / (syll + pause))
		u := t - float64(k)*(syll+pause)
		if u >= syll {
			continue
		}
		env := math.Sin(math.Pi * u / syll)
		f0 := 130 + 30*math.Sin(2*math.Pi*0.7*t)
		phase += f0 / float64(rate)
		fm := formants[k%len(formants)]
		var v float64
		for h := 1; float64(h)*f0 < 3400; h++ {
			f := float64(h) * f0
			g := 0.0
			for j, F := range fm {
				bw := 80.0 + 40*float64(j)
				g += 1 / (1 + ((f-F)/bw)*((f-F)/bw)) / float64(j+1)
			}
			v += g / math.Sqrt(float64(h)) * math.Sin(2*math.Pi*float64(h)*phase)
		}
		out[i] = int16(max(-32000, min(32000, 5000*env*v)))
	}
	return out
}

func TestVowelsFixture(t *testing.T) {
	path := filepath.Join("testdata", "vowels.wav")
	want := vowels(3*8000, 8000)
	if *update {
		if err := wav.WriteFile(path, wav.Audio{Rate: 8000, Samples: want}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := wav.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rate != 8000 || !slices.Equal(got.Samples, want) {
		t.Fatalf("%s is not vowels(24000, 8000); run with -update", path)
	}
}
