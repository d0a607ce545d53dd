package provision

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// geometry is what the test reads back from an image, without the encoder:
// where the symbol starts, the pixels per module and the symbol's width in
// modules (quiet zone excluded).
type geometry struct{ left, top, scale, modules int }

func dark(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return r+g+b < 3*0x8000
}

// measure finds the top-left finder pattern's corner on the diagonal, the
// module size from its 1-module dark border, and the symbol width from the
// last dark pixel of its top row (the top-right finder's edge).
func measure(t *testing.T, img image.Image) geometry {
	t.Helper()
	b := img.Bounds()
	c := -1
	for i := 0; i < b.Dx() && i < b.Dy(); i++ {
		if dark(img, i, i) {
			c = i
			break
		}
	}
	if c < 0 {
		t.Fatal("no dark pixel on the diagonal")
	}
	// The finder's left border column is dark for the finder's full
	// height of 7 modules.
	scale := 0
	for y := c; y < b.Dy() && dark(img, c, y); y++ {
		scale++
	}
	if scale%7 != 0 {
		t.Fatalf("left finder border is %d pixels high, not a multiple of 7", scale)
	}
	scale /= 7
	right := -1
	for x := b.Dx() - 1; x >= c; x-- {
		if dark(img, x, c) {
			right = x
			break
		}
	}
	width := right - c + 1
	if width%scale != 0 {
		t.Fatalf("symbol width %d pixels is not a whole number of %d-pixel modules", width, scale)
	}
	return geometry{left: c, top: c, scale: scale, modules: width / scale}
}

// module reports whether the symbol module (mx, my) is dark, sampling
// the pixel at its centre.
func (g geometry) module(img image.Image, mx, my int) bool {
	return dark(img, g.left+mx*g.scale+g.scale/2, g.top+my*g.scale+g.scale/2)
}

// finderAt checks a 7x7 finder pattern (dark ring, light ring, dark 3x3
// centre) with its light separator at module (mx, my).
func finderAt(g geometry, img image.Image, mx, my int) bool {
	for y := -1; y <= 7; y++ {
		for x := -1; x <= 7; x++ {
			px, py := mx+x, my+y
			if px < 0 || py < 0 || px >= g.modules || py >= g.modules {
				// Outside the symbol: quiet zone, must be light.
				if dark(img, g.left+px*g.scale+g.scale/2, g.top+py*g.scale+g.scale/2) {
					return false
				}
				continue
			}
			var want bool
			switch {
			case x == -1 || y == -1 || x == 7 || y == 7:
				want = false // separator
			case x == 0 || y == 0 || x == 6 || y == 6:
				want = true
			case x == 1 || y == 1 || x == 5 || y == 5:
				want = false
			default:
				want = true
			}
			if g.module(img, px, py) != want {
				return false
			}
		}
	}
	return true
}

// checkSymbol asserts the QR structure: a valid version size, the three
// finder patterns, none in the bottom-right corner, and the timing
// patterns between them.
func checkSymbol(t *testing.T, img image.Image) geometry {
	t.Helper()
	g := measure(t, img)
	if (g.modules-17)%4 != 0 || g.modules < 21 || g.modules > 177 {
		t.Fatalf("symbol is %d modules wide: not a QR version size", g.modules)
	}
	n := g.modules
	for _, c := range []struct {
		name   string
		mx, my int
	}{{"top-left", 0, 0}, {"top-right", n - 7, 0}, {"bottom-left", 0, n - 7}} {
		if !finderAt(g, img, c.mx, c.my) {
			t.Errorf("no finder pattern %s", c.name)
		}
	}
	if finderAt(g, img, n-7, n-7) {
		t.Error("finder pattern in the bottom-right corner")
	}
	for i := 8; i < n-8; i++ {
		if g.module(img, i, 6) != (i%2 == 0) || g.module(img, 6, i) != (i%2 == 0) {
			t.Fatalf("timing pattern broken at %d", i)
		}
	}
	// The quiet zone (4 modules) is light.
	for i := 0; i < img.Bounds().Dx(); i++ {
		for _, p := range [][2]int{{i, g.top - 4*g.scale}, {g.left - 4*g.scale, i}, {i, g.top + (n+4)*g.scale - 1}} {
			if p[0] >= 0 && p[1] >= 0 && p[0] < img.Bounds().Dx() && p[1] < img.Bounds().Dy() && dark(img, p[0], p[1]) {
				t.Fatalf("dark pixel in the quiet zone at %v", p)
			}
		}
	}
	return g
}

func TestQRPNG(t *testing.T) {
	uri, err := Account{Server: "192.168.1.10", Transport: TLS, User: "201", Password: "p@ss:w;rd%"}.URI()
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("hushbox-", 100)
	tests := []struct {
		name string
		text string
		size int
	}{
		{"uri 256", uri, 256},
		{"uri 300 (not a multiple)", uri, 300},
		{"short 64", "sip:1@a", 64},
		{"long 512", long, 512},
	}
	var widths []int
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := QRPNG(tc.text, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
				t.Fatal("not a PNG signature")
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("png.Decode: %v", err)
			}
			if r := img.Bounds(); r.Dx() != tc.size || r.Dy() != tc.size || r.Min != (image.Point{}) {
				t.Fatalf("image bounds %v, want %dx%d", r, tc.size, tc.size)
			}
			g := checkSymbol(t, img)
			// Centred: left and right margins differ by at most a pixel.
			if rm := tc.size - g.left - g.modules*g.scale; rm-g.left > 1 || g.left-rm > 1 {
				t.Errorf("margins %d and %d: not centred", g.left, rm)
			}
			widths = append(widths, g.modules)
		})
	}
	if len(widths) == 4 && widths[3] <= widths[0] {
		t.Errorf("long text made a %d-module symbol, not larger than the URI's %d", widths[3], widths[0])
	}
}

func TestQRRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		text string
		size int
	}{
		"empty text":       {"", 256},
		"size too small":   {"sip:201@pbx", MinQRSize - 1},
		"size too large":   {"sip:201@pbx", MaxQRSize + 1},
		"text too long":    {strings.Repeat("x", 5000), 1024},
		"too many modules": {strings.Repeat("y", 1200), 64},
	} {
		if _, err := QRPNG(c.text, c.size); err == nil {
			t.Errorf("QRPNG %s: accepted", name)
		}
		if _, err := QRSVG(c.text, c.size); err == nil {
			t.Errorf("QRSVG %s: accepted", name)
		}
	}
}

func TestQRSVG(t *testing.T) {
	b, err := QRSVG("sip:201:secret@pbx.lan:5061;transport=tls", 240)
	if err != nil {
		t.Fatal(err)
	}
	var svg struct {
		XMLName xml.Name `xml:"svg"`
		Width   string   `xml:"width,attr"`
		Height  string   `xml:"height,attr"`
		ViewBox string   `xml:"viewBox,attr"`
		Path    struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal(b, &svg); err != nil {
		t.Fatalf("SVG does not parse: %v", err)
	}
	if svg.Width != "240" || svg.Height != "240" {
		t.Errorf("size %sx%s", svg.Width, svg.Height)
	}
	var n int
	if _, err := fmtSscan(svg.ViewBox, &n); err != nil {
		t.Fatalf("viewBox %q: %v", svg.ViewBox, err)
	}
	// Rasterise the runs and check the same structure as the PNG.
	img := image.NewGray(image.Rect(0, 0, n*4, n*4))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	re := regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
	runs := re.FindAllStringSubmatch(svg.Path.D, -1)
	if len(runs) == 0 || strings.Join(flatten(runs), "") != svg.Path.D {
		t.Fatalf("path is not made of runs: %.80s", svg.Path.D)
	}
	for _, r := range runs {
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		w, _ := strconv.Atoi(r[3])
		for py := y * 4; py < y*4+4; py++ {
			for px := x * 4; px < (x+w)*4; px++ {
				img.Pix[py*img.Stride+px] = 0
			}
		}
	}
	checkSymbol(t, img)
	for _, bad := range []string{"<script", "href", "onload"} {
		if bytes.Contains(b, []byte(bad)) {
			t.Errorf("SVG contains %q", bad)
		}
	}
}

// fmtSscan reads the module count from a viewBox "0 0 N N".
func fmtSscan(viewBox string, n *int) (int, error) {
	f := strings.Fields(viewBox)
	if len(f) != 4 || f[0] != "0" || f[1] != "0" || f[2] != f[3] {
		return 0, strconv.ErrSyntax
	}
	v, err := strconv.Atoi(f[2])
	*n = v
	return 1, err
}

func flatten(m [][]string) []string {
	out := make([]string, len(m))
	for i, s := range m {
		out[i] = s[0]
	}
	return out
}
