package jitter_test

import (
	"fmt"
	"time"

	"hushbox/audio"
	"hushbox/audio/jitter"
	"hushbox/audio/plc"
)

// The receive side of a call: the network goroutine pushes decoded frames,
// the playback loop pops one every 20 ms and lets the concealer fill gaps.
func Example() {
	jb := jitter.New(jitter.Config{}) // 20..200 ms
	pl := plc.New()
	frame := make([]int16, audio.FrameLen)
	out := make([]int16, audio.FrameLen)
	start := time.Now()

	var got []string
	for tick := range 8 {
		// Packet 3 is lost on the way.
		if seq := uint16(tick); seq != 3 {
			jb.Push(seq, uint32(seq)*audio.FrameLen, seq == 0, start.Add(time.Duration(tick)*20*time.Millisecond), frame)
		}
		switch r := jb.Pop(out); r.Status {
		case jitter.Frame:
			pl.Good(out) // smooths the join after a concealment
			got = append(got, fmt.Sprint(r.Seq))
		case jitter.Conceal:
			pl.Conceal(out)
			got = append(got, "plc")
		case jitter.Silence:
			pl.Good(out) // out is zeroed: history becomes silence
			got = append(got, "-")
		}
		// ... out goes to the speaker (audio.Device.WriteFrame).
	}
	fmt.Println(got)
	st := jb.Stats()
	fmt.Println("lost", st.Lost, "delay", st.TargetDelay)
	// Output:
	// [0 1 2 plc 4 5 6 7]
	// lost 1 delay 20ms
}
