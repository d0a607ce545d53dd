package voicetest

import g711pkg "hushbox/audio/g711"

// g711 returns x coded and decoded with G.711 (mu-law, or A-law).
func g711(x []int16, alaw bool) []int16 {
	b := make([]byte, len(x))
	y := make([]int16, len(x))
	if alaw {
		g711pkg.EncodeAlawFrame(b, x)
		g711pkg.DecodeAlawFrame(y, b)
	} else {
		g711pkg.EncodeUlawFrame(b, x)
		g711pkg.DecodeUlawFrame(y, b)
	}
	return y
}
