// Package portaudio is the sound card backend of hushbox's audio.Device:
// the board's handset or a USB headset through PortAudio (ALSA on Linux),
// with blocking streams of 16-bit mono. It opens the card at 8 kHz when the
// card allows it and otherwise at 48, 44.1 or 16 kHz with a band-limited
// resampler (resample.go) in between, so callers always see 8 kHz frames of
// 160 samples.
//
// PortAudio is C: the backend is only built with the build tag "portaudio"
// (cgo; bin/hushbox-linux-armv7 links alsa-lib and PortAudio statically, see
// scripts/sysroot.sh). Without the tag, Open and List return an error
// wrapping audio.ErrNoDevice and the backend does not register, so the
// pure-Go build (the cloud) degrades to the null device.
//
// Spec for audio.Open: "portaudio" (default input and output devices) or
// "portaudio:NAME" (the device whose name is NAME, or the only one whose
// name contains NAME, ignoring case).
package portaudio
