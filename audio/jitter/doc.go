// Package jitter is the receive-side playout buffer of the phone endpoint:
// RTP frames go in as they arrive from the network (any order, duplicated,
// late or missing) and come out one per 20 ms playback tick, in sequence
// order, or as a "conceal" verdict the caller turns into packet-loss
// concealment (audio/plc).
//
// # What goes in
//
// Decoded PCM: the caller decodes the G.711 payload (and descrambles it, with
// the frame number taken from the RTP timestamp) before Push, because one RTP
// packet is exactly one 20 ms frame of audio.FrameLen samples end to end in
// hushbox. The buffer keys frames on the RTP sequence number (extended past
// the 16-bit wrap) and uses the RTP timestamp only to measure transit-time
// jitter, so a sender doing silence suppression (timestamps jump, sequence
// numbers do not) is not counted as loss.
//
// # Adaptation
//
// The target delay is derived from the spread of recent transit times (the
// 95th percentile minus the minimum over the last 128 packets, about 2.5 s)
// rounded up to whole frames plus one frame for the tick phase, clamped to
// [MinDelay, MaxDelay] (default 20..200 ms). Playout follows it like this:
//
//   - grow fast: when the next frame is not there and nothing newer is either
//     (an underrun: the frame is late, not yet known lost), Pop asks for
//     concealment without advancing, which adds one frame of delay at once.
//     If the missing frame then turns out lost (newer frames arrive but it
//     never does), the concealment already played stands in for it, so pure
//     loss does not grow the delay.
//   - shrink slowly: when the smoothed buffer level stays above the target by
//     more than a frame, at most one frame every second is dropped, and only
//     a quiet one (silence between words) unless the level exceeds the target
//     by three frames or more (a sender whose clock runs fast).
//   - talk spurts: after MaxDelay of underrun (the far end stopped sending,
//     e.g. silence suppression) the buffer goes idle and Pop returns Silence;
//     the next packet starts a new spurt that is buffered for the current
//     target delay before playout. A packet with the RTP marker bit (start of
//     a talk spurt) that arrives during a shorter pause, while the buffer is
//     still concealing, is re-buffered the same way, so the new spurt's
//     jitter is absorbed in the pause and not by concealment mid-word.
//
// Added latency: the target delay (between 20 ms and 200 ms; 20 ms, i.e. at
// most one frame and on average half a frame of waiting, on a clean LAN)
// minus the arrival phase within the tick. Stats reports it live.
//
// Nothing allocates after New: frames live in a fixed ring of Capacity slots.
// Push (from the network goroutine) and Pop (from the playback loop) may run
// concurrently: a mutex serialises them.
package jitter
