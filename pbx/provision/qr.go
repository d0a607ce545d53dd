package provision

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"

	qrcode "github.com/skip2/go-qrcode"
)

// QR code sizes in pixels accepted by QRPNG and QRSVG.
const (
	MinQRSize = 64
	MaxQRSize = 2048
)

// qrModules encodes text at error-correction level M (15 %, enough for
// a code on a screen) and returns its modules, including the 4-module
// quiet zone: modules[y][x] is true for a dark module.
func qrModules(text string) ([][]bool, error) {
	if text == "" {
		return nil, fmt.Errorf("provision: QR code of empty text")
	}
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("provision: QR code: %w", err)
	}
	return q.Bitmap(), nil
}

// layout picks the integer module scale and the margin that centres the
// code in a size x size image.
func layout(n, size int) (scale, offset int, err error) {
	if size < MinQRSize || size > MaxQRSize {
		return 0, 0, fmt.Errorf("provision: QR size %d not in %d..%d", size, MinQRSize, MaxQRSize)
	}
	scale = size / n
	if scale < 1 {
		return 0, 0, fmt.Errorf("provision: QR size %d too small for %d modules", size, n)
	}
	return scale, (size - scale*n) / 2, nil
}

// QRPNG returns a size x size pixel PNG (black on white, two-colour
// palette) of text as a QR code. Every module is a whole number of
// pixels, so the code stays sharp; the left-over pixels widen the white
// border. Text up to about 2 kB fits; size must be within MinQRSize and
// MaxQRSize and leave at least one pixel per module.
func QRPNG(text string, size int) ([]byte, error) {
	mods, err := qrModules(text)
	if err != nil {
		return nil, err
	}
	scale, off, err := layout(len(mods), size)
	if err != nil {
		return nil, err
	}
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	for y, row := range mods {
		for x, dark := range row {
			if !dark {
				continue
			}
			for py := off + y*scale; py < off+(y+1)*scale; py++ {
				start := img.PixOffset(off+x*scale, py)
				for i := 0; i < scale; i++ {
					img.Pix[start+i] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("provision: encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// QRSVG returns text as a QR code in a size x size pixel SVG: a white
// square and one black path with a run of dark modules per segment, in
// module units (viewBox), with crisp edges. It has no script and no
// external reference, so it can be inlined in a page whose CSP forbids
// both.
func QRSVG(text string, size int) ([]byte, error) {
	mods, err := qrModules(text)
	if err != nil {
		return nil, err
	}
	if _, _, err := layout(len(mods), size); err != nil {
		return nil, err
	}
	n := strconv.Itoa(len(mods))
	var b bytes.Buffer
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="` + strconv.Itoa(size) + `" height="` + strconv.Itoa(size) +
		`" viewBox="0 0 ` + n + ` ` + n + `" shape-rendering="crispEdges">`)
	b.WriteString(`<rect width="` + n + `" height="` + n + `" fill="#fff"/><path fill="#000" d="`)
	for y, row := range mods {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			b.WriteString("M" + strconv.Itoa(x) + " " + strconv.Itoa(y) + "h" + strconv.Itoa(run) + "v1h-" + strconv.Itoa(run) + "z")
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}
