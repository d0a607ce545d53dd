package interop

import (
	"regexp"
	"strings"

	"github.com/pion/rtp"

	"hushbox/audio/g711"
)

// srtpAuthTagLen is the number of octets an SRTP crypto-suite (SDES name)
// appends to every RTP packet: the HMAC-SHA1 tag (80 or 32 bits) or the
// GCM tag (128 bits). ok is false for a suite this table does not know.
func srtpAuthTagLen(suite string) (n int, ok bool) {
	switch suite {
	case "AES_CM_128_HMAC_SHA1_80", "AES_192_CM_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_80":
		return 10, true
	case "AES_CM_128_HMAC_SHA1_32", "AES_192_CM_HMAC_SHA1_32", "AES_256_CM_HMAC_SHA1_32":
		return 4, true
	case "AEAD_AES_128_GCM", "AEAD_AES_256_GCM":
		return 16, true
	}
	return 0, false
}

// baresipSuiteRE matches baresip's srtp module line
// "srtp: audio: SRTP is Enabled (cryptosuite=AEAD_AES_256_GCM)".
var baresipSuiteRE = regexp.MustCompile(`SRTP is Enabled \(cryptosuite=([A-Z0-9_]+)\)`)

// baresipSRTPSuite returns the crypto-suite baresip's log says its audio
// stream runs, or "" when the log has no such line (plain RTP).
func baresipSRTPSuite(log string) string {
	m := baresipSuiteRE.FindStringSubmatch(log)
	if m == nil {
		return ""
	}
	return m[1]
}

// daemonSRTPRE matches the daemon's media line
// `msg="media: leg SRTP" leg=a port=40002 srtp="SRTP in X, out X"`.
var daemonSRTPRE = regexp.MustCompile(`msg="media: leg SRTP".* srtp="SRTP in ([A-Z0-9_]+), out ([A-Z0-9_]+)"`)

// daemonSRTPSuites returns, for every leg the daemon's log turned SRTP on,
// the suite it decrypts with and the one it encrypts with.
func daemonSRTPSuites(log string) [][2]string {
	var out [][2]string
	for _, line := range strings.Split(log, "\n") {
		if m := daemonSRTPRE.FindStringSubmatch(line); m != nil {
			out = append(out, [2]string{m[1], m[2]})
		}
	}
	return out
}

// legTraffic is what a capture holds of one direction of one media leg
// (datagrams from a port in one range to a port in another).
type legTraffic struct {
	// rtp are the RTP packets (version 2, not RTCP), in capture order.
	rtp []legPacket
	// rtcp counts the RTCP (or SRTCP) packets: packet type 200-204 in the
	// second octet, which SRTCP leaves in clear.
	rtcp int
	// other are the datagrams that are neither: none on a media leg.
	other int
}

// legPacket is one captured RTP packet: its header fields and what follows
// the header (the payload, or for SRTP the encrypted payload and the
// authentication tag).
type legPacket struct {
	seq  uint16
	ts   uint32
	ssrc uint32
	pt   uint8
	body []byte
}

// legTrafficOf sorts the captured datagrams sent from a port in from to a
// port in to into RTP, RTCP and other.
func legTrafficOf(dgrams []udpDatagram, from, to portRange) legTraffic {
	var lt legTraffic
	for _, d := range dgrams {
		if !from.has(d.src.Port()) || !to.has(d.dst.Port()) {
			continue
		}
		if len(d.payload) >= 8 && d.payload[0]>>6 == 2 && d.payload[1] >= 200 && d.payload[1] <= 204 {
			lt.rtcp++
			continue
		}
		var h rtp.Header
		n, err := h.Unmarshal(d.payload)
		if err != nil || h.Version != 2 || n > len(d.payload) {
			lt.other++
			continue
		}
		lt.rtp = append(lt.rtp, legPacket{seq: h.SequenceNumber, ts: h.Timestamp, ssrc: h.SSRC,
			pt: h.PayloadType, body: d.payload[n:]})
	}
	return lt
}

// bodyLengths counts the RTP packets of lt by the length of what follows
// their header.
func (lt legTraffic) bodyLengths() map[int]int {
	out := map[int]int{}
	for _, p := range lt.rtp {
		out[len(p.body)]++
	}
	return out
}

// asG711 decodes the first n octets of every G.711 (PT 0 or 8) RTP packet
// of lt as audio, whatever they hold: the plain payload of an RTP packet,
// the ciphertext of an SRTP one (its tag, after the n octets, is left
// out). Packets with fewer than n octets are skipped. It keeps the SSRC
// with the most packets, like rtpG711Frames, so placeFrames can lay the
// result out on a timeline.
func (lt legTraffic) asG711(n int) []g711Frame {
	var frames []g711Frame
	count := map[uint32]int{}
	for _, p := range lt.rtp {
		if (p.pt != 0 && p.pt != 8) || len(p.body) < n {
			continue
		}
		pcm := make([]int16, n)
		if p.pt == 0 {
			g711.DecodeUlawFrame(pcm, p.body[:n])
		} else {
			g711.DecodeAlawFrame(pcm, p.body[:n])
		}
		frames = append(frames, g711Frame{seq: p.seq, ts: p.ts, ssrc: p.ssrc, pt: p.pt, pcm: pcm})
		count[p.ssrc]++
	}
	var best uint32
	bestN := 0
	for ssrc, c := range count {
		if c > bestN || (c == bestN && ssrc < best) {
			best, bestN = ssrc, c
		}
	}
	out := frames[:0]
	for _, f := range frames {
		if f.ssrc == best {
			out = append(out, f)
		}
	}
	return out
}

// bestAbsNormXCorr is bestNormXCorr for the magnitude of the correlation:
// the highest |r| over lags 0..maxLag, with its sign kept in r. A stream
// that carried the speech inverted would score as well as the speech.
func bestAbsNormXCorr(ref, got []float64, maxLag int) (r float64, lag int) {
	pos, lagPos := bestNormXCorr(ref, got, maxLag)
	neg := make([]float64, len(ref))
	for i, v := range ref {
		neg[i] = -v
	}
	rn, lagNeg := bestNormXCorr(neg, got, maxLag)
	if rn > pos {
		return -rn, lagNeg
	}
	return pos, lagPos
}
