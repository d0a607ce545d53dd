package portaudio

import (
	"fmt"
	"math"
)

// Resampling between the device rate and 8 kHz, for sound cards that do not
// offer 8 kHz (most USB headsets run at 48 kHz, some at 44.1 kHz).
//
// Both directions use one band-limited kernel, a Kaiser-windowed sinc with
// its cutoff at CutoffHz and a half-width of kernelHalf periods of 8 kHz
// (2 ms). A 20 ms frame at the device rate holds a whole number of samples
// (960 at 48 kHz, 882 at 44.1 kHz) and maps onto 160 samples at 8 kHz, so
// the sampling phases repeat every frame: the weights of every output
// sample are computed once in newResampler and each frame is one dot
// product per output sample. For 48 kHz this is exactly a 6x polyphase
// decimator/interpolator; for 44.1 kHz it is the same filter evaluated at
// fractional phases. The resampler is causal and delays by kernelHalf
// periods of 8 kHz (2 ms).

// CutoffHz is the resampler's band edge: telephone speech is 300-3400 Hz
// and the transition band ends just below the 4 kHz Nyquist limit.
const CutoffHz = 3500

const (
	kernelHalf = 16  // kernel half-width, in 8 kHz periods
	kaiserBeta = 7.0 // about 70 dB stop band
	telRate    = 8000
	frameMs    = 20
)

// resampler converts frames of inLen samples to frames of outLen samples,
// both lasting 20 ms. It keeps the tail of the previous input as history.
type resampler struct {
	inLen, outLen int
	hist          int       // samples of history before the current frame
	buf           []float32 // hist + inLen samples
	start         []int     // per output sample: first buf index
	w             [][]float32
}

// newResampler prepares the conversion from rate inRate to outRate, one of
// which must be 8000; the other must have a whole number of samples in 20 ms.
func newResampler(inRate, outRate int) (*resampler, error) {
	if inRate <= 0 || outRate <= 0 || inRate*frameMs%1000 != 0 || outRate*frameMs%1000 != 0 ||
		(inRate != telRate && outRate != telRate) {
		return nil, fmt.Errorf("portaudio: cannot resample %d Hz to %d Hz", inRate, outRate)
	}
	r := &resampler{inLen: inRate * frameMs / 1000, outLen: outRate * frameMs / 1000}
	const tel = telRate * frameMs / 1000 // 160 periods of 8 kHz per frame
	inStep := float64(tel) / float64(r.inLen)
	outStep := float64(tel) / float64(r.outLen)
	// Output j is due at time j*outStep - kernelHalf (in 8 kHz periods, the
	// current frame starting at 0) and sees the input within kernelHalf of it.
	r.hist = int(math.Ceil(2*kernelHalf/inStep)) + 1
	r.buf = make([]float32, r.hist+r.inLen)
	fc := 2 * float64(CutoffHz) / telRate // cutoff in cycles per 2 periods
	r.start = make([]int, r.outLen)
	r.w = make([][]float32, r.outLen)
	for j := range r.outLen {
		t := float64(j)*outStep - kernelHalf
		lo := int(math.Ceil((t-kernelHalf)/inStep)) + r.hist
		hi := int(math.Floor((t+kernelHalf)/inStep)) + r.hist
		lo = max(lo, 0)
		hi = min(hi, len(r.buf)-1)
		w := make([]float32, hi-lo+1)
		var sum float64
		ws := make([]float64, len(w))
		for k := range w {
			d := t - float64(lo+k-r.hist)*inStep
			ws[k] = kernel(d, fc)
			sum += ws[k]
		}
		for k := range w {
			w[k] = float32(ws[k] / sum) // unity gain at DC for every phase
		}
		r.start[j] = lo
		r.w[j] = w
	}
	return r, nil
}

// kernel is the windowed sinc at distance d (in 8 kHz periods).
func kernel(d, fc float64) float64 {
	x := d / kernelHalf
	if x <= -1 || x >= 1 {
		return 0
	}
	s := fc
	if d != 0 {
		s = math.Sin(math.Pi*fc*d) / (math.Pi * d)
	}
	return s * bessel0(kaiserBeta*math.Sqrt(1-x*x)) / bessel0(kaiserBeta)
}

// bessel0 is the modified Bessel function of the first kind, order 0.
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < 1e-12*sum {
			break
		}
	}
	return sum
}

// process converts one frame: len(in) must be inLen, len(out) outLen.
func (r *resampler) process(in, out []int16) {
	copy(r.buf, r.buf[r.inLen:]) // keep the last hist samples
	for i, s := range in {
		r.buf[r.hist+i] = float32(s)
	}
	for j := range out {
		b := r.buf[r.start[j]:]
		var acc float32
		for k, w := range r.w[j] {
			acc += w * b[k]
		}
		out[j] = clip16(acc)
	}
}

func clip16(v float32) int16 {
	switch {
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v >= 0:
		return int16(v + 0.5)
	default:
		return int16(v - 0.5)
	}
}
