package daemon

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// floodPort finds a port free for both UDP and TCP on loopback.
func floodPort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// startFloodDaemon runs a daemon on loopback until the test ends.
func startFloodDaemon(t *testing.T) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", floodPort(t))
	runDaemon(t, Config{DataDir: filepath.Join(t.TempDir(), "d"), SIPAddr: addr, RTPPorts: "42000-42099",
		Realm: "flood", MediaIP: "127.0.0.1", MediaTimeout: time.Minute, RingTimeout: time.Minute, UserAgent: "hushbox/test"})
	return addr
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// A flood of unauthenticated REGISTERs (each a new transaction, as a
// scanner sends them) is answered with challenges and leaves no state
// behind: goroutines and heap return to where they were.
func TestRegisterFloodKeepsNoState(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test")
	}
	addr := startFloodDaemon(t)
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	send := func(i int) {
		msg := fmt.Sprintf("REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKflood%d\r\n"+
			"From: <sip:%d@127.0.0.1>;tag=t%d\r\nTo: <sip:%d@127.0.0.1>\r\nCall-ID: flood-%d\r\nCSeq: 1 REGISTER\r\n"+
			"Contact: <sip:x@%s>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", local, i, 100+i%50, i, 100+i%50, i, local)
		conn.Write([]byte(msg))
	}
	// Drain answers so the socket never blocks; count the challenges.
	var got sync.WaitGroup
	challenges := 0
	got.Add(1)
	go func() {
		defer got.Done()
		buf := make([]byte, 4096)
		for {
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if bytes.HasPrefix(buf[:n], []byte("SIP/2.0 401")) {
				challenges++
			}
		}
	}()
	// Warm up, then measure.
	for i := 0; i < 500; i++ {
		send(i)
	}
	time.Sleep(500 * time.Millisecond)
	baseG, baseH := runtime.NumGoroutine(), heapAfterGC()
	const flood = 20000
	for i := 0; i < flood; i++ {
		send(1000 + i)
		if i%50 == 0 {
			time.Sleep(2 * time.Millisecond) // bounded rate: 25k/s at most
		}
	}
	got.Wait()
	if challenges < flood/2 {
		t.Fatalf("only %d of %d REGISTERs were challenged", challenges, flood+500)
	}
	var g int
	var h uint64
	for i := 0; i < 50; i++ { // let handler goroutines finish
		g, h = runtime.NumGoroutine(), heapAfterGC()
		if g <= baseG+5 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if g > baseG+5 {
		t.Fatalf("goroutines grew from %d to %d after %d challenges", baseG, g, challenges)
	}
	// Keeping a server transaction (~2 KiB with its timers and request) per
	// REGISTER would hold tens of MiB here; stateless answers hold nothing.
	if h > baseH+8<<20 {
		t.Fatalf("heap grew from %d to %d bytes after %d challenges", baseH, h, challenges)
	}
	t.Logf("%d challenges; goroutines %d -> %d; heap %d KiB -> %d KiB", challenges, baseG, g, baseH>>10, h>>10)
}
