package voicetest

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"hushbox/audio/fft"
)

// Spectrogram parameters: 32 ms Hann frames every 8 ms, 256-point DFT
// (15.6 Hz bins), shown over specRange dB below the loudest bin.
const (
	specFrame = 256
	specHop   = 64
	specRange = 80.0
)

// Spectrogram is a short-time power spectrum in dB: Power[t][k] is frame t
// (starting at t*Hop samples), bin k (k*Rate/256 Hz, k = 0..128).
type Spectrogram struct {
	Rate  int
	Hop   int
	Power [][]float64
}

// NewSpectrogram computes the spectrogram of x sampled at rate.
func NewSpectrogram(x []int16, rate int) Spectrogram {
	s := Spectrogram{Rate: rate, Hop: specHop}
	win := make([]float64, specFrame)
	for i := range win {
		win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/specFrame)
	}
	re := make([]float64, specFrame)
	im := make([]float64, specFrame)
	for start := 0; start+specFrame <= len(x); start += specHop {
		for i := range re {
			re[i], im[i] = win[i]*float64(x[start+i])/32768, 0
		}
		fft.Transform(re, im)
		row := make([]float64, specFrame/2+1)
		for k := range row {
			row[k] = 10 * math.Log10(re[k]*re[k]+im[k]*im[k]+1e-12)
		}
		s.Power = append(s.Power, row)
	}
	return s
}

// grid adapts a Spectrogram to plotter.GridXYZ.
type grid struct {
	s        Spectrogram
	min, max float64
}

func (g grid) Dims() (c, r int) {
	if len(g.s.Power) == 0 {
		return 0, 0
	}
	return len(g.s.Power), len(g.s.Power[0])
}
func (g grid) Z(c, r int) float64 { return math.Max(g.s.Power[c][r], g.min) }
func (g grid) X(c int) float64 {
	return (float64(c*g.s.Hop) + specFrame/2) / float64(g.s.Rate)
}
func (g grid) Y(r int) float64 { return float64(r*g.s.Rate) / specFrame }
func (g grid) Min() float64    { return g.min }
func (g grid) Max() float64    { return g.max }
func (s Spectrogram) peak() float64 {
	p := math.Inf(-1)
	for _, row := range s.Power {
		for _, v := range row {
			p = math.Max(p, v)
		}
	}
	return p
}

// Panel is one spectrogram of a figure.
type Panel struct {
	Title   string
	Samples []int16
}

// plotPanel makes the plot of one panel, with the colour scale from top
// (dB) down specRange dB.
func plotPanel(p Panel, rate int, top float64) (*plot.Plot, error) {
	s := NewSpectrogram(p.Samples, rate)
	if len(s.Power) < 2 {
		return nil, fmt.Errorf("voicetest: %q: too short for a spectrogram", p.Title)
	}
	cm := moreland.ExtendedBlackBody()
	cm.SetMin(top - specRange)
	cm.SetMax(top)
	h := plotter.NewHeatMap(grid{s: s, min: top - specRange, max: top}, cm.Palette(255))
	h.Rasterized = true
	h.Underflow = color.Black
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.X.Label.Text = "time (s)"
	pl.Y.Label.Text = "frequency (Hz)"
	pl.Add(h)
	return pl, nil
}

// WriteFigure writes the panels stacked vertically as one PNG (width
// 16 cm, 6 cm per panel), all on the colour scale of the loudest panel, as
// in a paper's figure.
func WriteFigure(path string, panels []Panel, rate int) error {
	if len(panels) == 0 {
		return fmt.Errorf("voicetest: no panels")
	}
	top := math.Inf(-1)
	for _, p := range panels {
		top = math.Max(top, NewSpectrogram(p.Samples, rate).peak())
	}
	img := vgimg.NewWith(vgimg.UseWH(16*vg.Centimeter, vg.Length(len(panels))*6*vg.Centimeter), vgimg.UseDPI(96))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadY: vg.Millimeter * 3, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	for i, p := range panels {
		pl, err := plotPanel(p, rate, top)
		if err != nil {
			return err
		}
		pl.Draw(tiles.At(dc, 0, i))
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("voicetest: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("voicetest: writing %s: %w", path, err)
	}
	return f.Close()
}

// WriteSpectrograms writes the report's three figures, original.png,
// scrambled.png and descrambled.png, and the three stacked in figure.png,
// into dir. It returns the paths written.
func (r *Report) WriteSpectrograms(dir string) ([]string, error) {
	panels := []Panel{
		{"original", r.Original},
		{"scrambled (after G.711, what the relay hears)", r.Scrambled},
		{fmt.Sprintf("descrambled (G.711, %g %% loss)", 100*r.Config.LossRates[0]), r.Descrambled},
	}
	var paths []string
	for i, name := range []string{"original", "scrambled", "descrambled"} {
		p := filepath.Join(dir, name+".png")
		if err := WriteFigure(p, panels[i:i+1], scrambleRate); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	p := filepath.Join(dir, "figure.png")
	if err := WriteFigure(p, panels, scrambleRate); err != nil {
		return paths, err
	}
	return append(paths, p), nil
}
