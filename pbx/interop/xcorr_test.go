package interop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// readWAVMono16 reads the samples of a 16-bit PCM mono WAV file.
func readWAVMono16(path string) ([]float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read wav: %w", err)
	}
	return parseWAVMono16(data)
}

// parseWAVMono16 walks the RIFF chunks for "fmt " (PCM, 1 channel, 16 bit)
// and "data". A data chunk whose size runs past the end (a recorder that was
// not closed cleanly) is read up to the end of the file.
func parseWAVMono16(data []byte) ([]float64, error) {
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, errors.New("wav: not RIFF/WAVE")
	}
	fmtOK := false
	for off := 12; off+8 <= len(data); {
		id := string(data[off : off+4])
		size := int(binary.LittleEndian.Uint32(data[off+4:]))
		body := data[off+8:]
		if size < 0 || size > len(body) {
			if id != "data" {
				return nil, fmt.Errorf("wav: chunk %q overruns file", id)
			}
			size = len(body) &^ 1
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, errors.New("wav: short fmt chunk")
			}
			format := binary.LittleEndian.Uint16(body[0:])
			channels := binary.LittleEndian.Uint16(body[2:])
			bits := binary.LittleEndian.Uint16(body[14:])
			if (format != 1 && format != 0xfffe) || channels != 1 || bits != 16 {
				return nil, fmt.Errorf("wav: want 16-bit PCM mono, got format %d, %d channels, %d bits", format, channels, bits)
			}
			fmtOK = true
		case "data":
			if !fmtOK {
				return nil, errors.New("wav: data before fmt")
			}
			s := make([]float64, size/2)
			for i := range s {
				s[i] = float64(int16(binary.LittleEndian.Uint16(body[2*i:])))
			}
			return s, nil
		}
		off += 8 + size + size&1
	}
	return nil, errors.New("wav: no data chunk")
}

// bestNormXCorr slides ref over got with lags 0..maxLag (got delayed by lag
// samples against ref) and returns the highest normalised cross-correlation
//
//	sum(ref[i]*got[i+lag]) / sqrt(sum(ref[i]^2) * sum(got[i+lag]^2))
//
// over the overlap, with the lag where it occurs. Lags whose overlap is less
// than 80% of ref are not considered, so a recording that lost most of the
// speech cannot score.
func bestNormXCorr(ref, got []float64, maxLag int) (float64, int) {
	best, bestLag := math.Inf(-1), -1
	minOverlap := len(ref) * 8 / 10
	for lag := 0; lag <= maxLag; lag++ {
		n := min(len(ref), len(got)-lag)
		if n < minOverlap || n <= 0 {
			break
		}
		var xy, xx, yy float64
		for i := range n {
			x, y := ref[i], got[i+lag]
			xy += x * y
			xx += x * x
			yy += y * y
		}
		if xx == 0 || yy == 0 {
			continue
		}
		if r := xy / math.Sqrt(xx*yy); r > best {
			best, bestLag = r, lag
		}
	}
	if bestLag < 0 {
		return 0, -1
	}
	return best, bestLag
}
