package interop

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// probeMagic starts the payload of every packet the probe sends, so that
// its own packets coming back through the relay (echoed by the far end)
// are told apart from the far end's audio.
var probeMagic = []byte("HBXPROBE")

// rtpProbe is the media endpoint of a callee in the sipp call tests: the
// callee's SDP points at it. It counts the RTP that reaches it from the
// caller through the relay and, once the relay's address is known (first
// packet, symmetric RTP), sends its own marked packets back; the caller's
// sipp echoes them (-rtp_echo), so marked packets returning prove the
// path callee -> relay -> caller -> relay -> callee.
type rtpProbe struct {
	conn   *net.UDPConn
	port   int
	nProbe int

	mu       sync.Mutex
	fromPeer int // valid RTP packets from the caller (not ours)
	returned int // our marked packets that came back
	sent     int
	bad      int // datagrams that are not RTP
	peer     *net.UDPAddr
	done     chan struct{}
}

// newRTPProbe listens on a free even port of 127.0.0.1 and will send nProbe
// marked packets (20 ms apart) back to the first RTP source.
func newRTPProbe(t testing.TB, nProbe int) *rtpProbe {
	t.Helper()
	var conn *net.UDPConn
	for range 50 {
		lo := freeUDPRange(t, 2)
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: lo})
		if err == nil {
			conn = c
			break
		}
	}
	if conn == nil {
		t.Fatal("rtp probe: no free port")
	}
	p := &rtpProbe{conn: conn, port: conn.LocalAddr().(*net.UDPAddr).Port, nProbe: nProbe, done: make(chan struct{})}
	go p.read()
	t.Cleanup(p.close)
	return p
}

func (p *rtpProbe) close() {
	p.conn.Close()
	<-p.done
}

func (p *rtpProbe) read() {
	defer close(p.done)
	buf := make([]byte, 2048)
	for {
		n, from, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(buf[:n]); err != nil || pkt.Version != 2 {
			p.mu.Lock()
			p.bad++
			p.mu.Unlock()
			continue
		}
		p.mu.Lock()
		if bytes.HasPrefix(pkt.Payload, probeMagic) {
			p.returned++
		} else {
			p.fromPeer++
			if p.peer == nil {
				p.peer = from
				go p.send(from)
			}
		}
		p.mu.Unlock()
	}
}

// send sends the marked packets: PCMA, 160-byte payloads, 20 ms apart.
func (p *rtpProbe) send(to *net.UDPAddr) {
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SSRC: 0x48425850}}
	payload := make([]byte, 160)
	copy(payload, probeMagic)
	for i := range p.nProbe {
		pkt.SequenceNumber = uint16(i)
		pkt.Timestamp = uint32(i * 160)
		binary.BigEndian.PutUint32(payload[len(probeMagic):], uint32(i))
		pkt.Payload = payload
		raw, err := pkt.Marshal()
		if err != nil {
			return
		}
		if _, err := p.conn.WriteToUDP(raw, to); err != nil {
			return
		}
		p.mu.Lock()
		p.sent++
		p.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
}

// counts returns packets from the caller, own packets returned, sent, and
// non-RTP datagrams.
func (p *rtpProbe) counts() (fromPeer, returned, sent, bad int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fromPeer, p.returned, p.sent, p.bad
}

// pcapPackets counts the packets in a classic libpcap file (the RTP streams
// shipped with sipp hold one RTP packet per record).
func pcapPackets(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pcap: %w", err)
	}
	return countPcapRecords(data)
}

// countPcapRecords counts records in a libpcap capture (either byte order,
// micro- or nanosecond magic).
func countPcapRecords(data []byte) (int, error) {
	if len(data) < 24 {
		return 0, errors.New("pcap: short global header")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return 0, errors.New("pcap: bad magic")
	}
	n := 0
	for off := 24; off < len(data); n++ {
		if off+16 > len(data) {
			return 0, fmt.Errorf("pcap: truncated record header at %d", off)
		}
		incl := int(bo.Uint32(data[off+8:]))
		if incl < 0 || off+16+incl > len(data) {
			return 0, fmt.Errorf("pcap: truncated record at %d", off)
		}
		off += 16 + incl
	}
	return n, nil
}
