package portaudio

import (
	"math"
	"testing"
)

func tone(n, rate int, freq, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return s
}

// run pushes x through r frame by frame.
func run(r *resampler, x []int16) []int16 {
	var y []int16
	out := make([]int16, r.outLen)
	for i := 0; i+r.inLen <= len(x); i += r.inLen {
		r.process(x[i:i+r.inLen], out)
		y = append(y, out...)
	}
	return y
}

// power of x at freq (Goertzel), normalised so a full-scale sine is ~0 dB
// relative to amp.
func levelDB(x []int16, rate int, freq, amp float64) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	var re, im float64
	for i, s := range x {
		re += float64(s) * math.Cos(w*float64(i))
		im -= float64(s) * math.Sin(w*float64(i))
	}
	mag := 2 * math.Hypot(re, im) / float64(len(x))
	return 20 * math.Log10(mag/amp+1e-12)
}

// TestResamplerPassesSpeechBand: a tone in the telephone band keeps its
// level (within 0.5 dB) through down- and up-sampling at both device rates.
func TestResamplerPassesSpeechBand(t *testing.T) {
	for _, rate := range []int{48000, 44100, 16000} {
		for _, f := range []float64{300, 1000, 2500, 3000} {
			down, err := newResampler(rate, 8000)
			if err != nil {
				t.Fatal(err)
			}
			x := tone(rate, rate, f, 10000) // 1 s
			y := run(down, x)
			if len(y) != 8000 {
				t.Fatalf("%d Hz: %d samples out of 1 s, want 8000", rate, len(y))
			}
			if l := levelDB(y[800:], 8000, f, 10000); math.Abs(l) > 0.5 {
				t.Errorf("down %d Hz, %g Hz tone: %.2f dB, want 0 +-0.5", rate, f, l)
			}
			up, err := newResampler(8000, rate)
			if err != nil {
				t.Fatal(err)
			}
			z := run(up, tone(8000, 8000, f, 10000))
			if len(z) != rate {
				t.Fatalf("up to %d Hz: %d samples out of 1 s", rate, len(z))
			}
			if l := levelDB(z[rate/10:], rate, f, 10000); math.Abs(l) > 0.5 {
				t.Errorf("up %d Hz, %g Hz tone: %.2f dB, want 0 +-0.5", rate, f, l)
			}
		}
	}
}

// TestResamplerRejectsAliases: a 5 kHz tone at the device rate would fold
// to 3 kHz at 8 kHz; it must come out at least 50 dB down. Upsampled 3 kHz
// must not leave an image at 5 kHz.
func TestResamplerRejectsAliases(t *testing.T) {
	for _, rate := range []int{48000, 44100} {
		down, _ := newResampler(rate, 8000)
		y := run(down, tone(rate, rate, 5000, 10000))
		if l := levelDB(y[800:], 8000, 3000, 10000); l > -50 {
			t.Errorf("down %d Hz: 5 kHz folds to 3 kHz at %.1f dB, want < -50", rate, l)
		}
		up, _ := newResampler(8000, rate)
		z := run(up, tone(8000, 8000, 3000, 10000))
		if l := levelDB(z[rate/10:], rate, 5000, 10000); l > -50 {
			t.Errorf("up %d Hz: image of 3 kHz at 5 kHz is %.1f dB, want < -50", rate, l)
		}
	}
}

// TestResamplerRoundTrip: 8 kHz speech-band noise up to 48 kHz and back
// equals the input delayed by 4 ms (2 ms each way) within 30 dB SNR.
func TestResamplerRoundTrip(t *testing.T) {
	for _, rate := range []int{48000, 44100} {
		x := make([]int16, 8000)
		for _, f := range []float64{440, 1234, 2100, 2900} {
			for i, s := range tone(8000, 8000, f, 5000) {
				x[i] += s
			}
		}
		up, _ := newResampler(8000, rate)
		down, _ := newResampler(rate, 8000)
		y := run(down, run(up, x))
		const delay = 2 * kernelHalf
		var sig, noise float64
		for i := 800; i < len(y); i++ {
			d := float64(y[i]) - float64(x[i-delay])
			sig += float64(x[i-delay]) * float64(x[i-delay])
			noise += d * d
		}
		if snr := 10 * math.Log10(sig/noise); snr < 30 {
			t.Errorf("%d Hz round trip SNR %.1f dB, want >= 30", rate, snr)
		}
	}
}

func TestNewResamplerRefuses(t *testing.T) {
	for _, c := range [][2]int{{48000, 16000}, {11025, 8000}, {0, 8000}, {8000, -1}} {
		if _, err := newResampler(c[0], c[1]); err == nil {
			t.Errorf("newResampler(%d, %d) accepted", c[0], c[1])
		}
	}
}

func BenchmarkResample48kDown(b *testing.B) {
	r, _ := newResampler(48000, 8000)
	in, out := tone(960, 48000, 1000, 8000), make([]int16, 160)
	for b.Loop() {
		r.process(in, out)
	}
}

func BenchmarkResample48kUp(b *testing.B) {
	r, _ := newResampler(8000, 48000)
	in, out := tone(160, 8000, 1000, 8000), make([]int16, 960)
	for b.Loop() {
		r.process(in, out)
	}
}
