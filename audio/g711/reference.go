package g711

// This file holds a scalar transliteration of the Sun Microsystems g711.c
// reference code. It is not on any hot path: init uses it to fill the
// lookup tables in tables.go, and the tests compare against it.

const (
	signBit   = 0x80 // sign bit of an A-law or mu-law code
	quantMask = 0x0f // quantisation field of a code
	segShift  = 4    // left shift of the segment number in a code
	segMask   = 0x70 // segment field of a code
	ulawBias  = 0x84 // bias added to the linear magnitude before mu-law coding
	ulawClip  = 8159 // largest 14-bit magnitude mu-law can code
)

// segAEnd and segUEnd are the upper bounds of each segment, on the 13-bit
// (A-law) and 14-bit (mu-law) magnitude scales.
var (
	segAEnd = [8]int{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}
	segUEnd = [8]int{0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF}
)

// segment returns the index of the first bound that val does not exceed,
// or 8 when val is above all of them (g711.c's search()).
func segment(val int, bounds *[8]int) int {
	for i, end := range bounds {
		if val <= end {
			return i
		}
	}
	return 8
}

// refLinearToAlaw is g711.c's linear2alaw: a 16-bit sample to an A-law code.
func refLinearToAlaw(sample int16) byte {
	pcm := int(sample) >> 3
	var mask byte
	if pcm >= 0 {
		mask = 0xD5 // sign (7th) bit = 1
	} else {
		mask = 0x55 // sign bit = 0
		pcm = -pcm - 1
	}
	seg := segment(pcm, &segAEnd)
	if seg >= 8 { // out of range: largest code
		return 0x7F ^ mask
	}
	aval := byte(seg << segShift)
	if seg < 2 {
		aval |= byte(pcm>>1) & quantMask
	} else {
		aval |= byte(pcm>>seg) & quantMask
	}
	return aval ^ mask
}

// refAlawToLinear is g711.c's alaw2linear: an A-law code to a 16-bit sample.
func refAlawToLinear(code byte) int16 {
	a := code ^ 0x55
	t := int(a&quantMask) << 4
	seg := int(a&segMask) >> segShift
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&signBit != 0 {
		return int16(t)
	}
	return int16(-t)
}

// refLinearToUlaw is g711.c's linear2ulaw: a 16-bit sample to a mu-law code.
func refLinearToUlaw(sample int16) byte {
	pcm := int(sample) >> 2
	var mask byte
	if pcm < 0 {
		pcm = -pcm
		mask = 0x7F
	} else {
		mask = 0xFF
	}
	if pcm > ulawClip {
		pcm = ulawClip
	}
	pcm += ulawBias >> 2
	seg := segment(pcm, &segUEnd)
	if seg >= 8 { // out of range: largest code
		return 0x7F ^ mask
	}
	uval := byte(seg<<4) | byte(pcm>>(seg+1))&0xF
	return uval ^ mask
}

// refUlawToLinear is g711.c's ulaw2linear: a mu-law code to a 16-bit sample.
func refUlawToLinear(code byte) int16 {
	u := ^code
	t := (int(u&quantMask) << 3) + ulawBias
	t <<= int(u&segMask) >> segShift
	if u&signBit != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}
