package main

// The voice scrambler's command-line tools: scramble and descramble WAV
// files, and measure the scrambler on a speech file (voicetest).

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"hushbox/audio/voicetest"
	"hushbox/audio/wav"
	"hushbox/crypto/scramble"
)

// readSpeech reads an 8 kHz WAV file; other rates are refused with the
// sox command that converts them.
func readSpeech(path string) ([]int16, error) {
	a, err := wav.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if a.Rate != scramble.SampleRate {
		return nil, fmt.Errorf("%s: %d Hz, want %d Hz mono (convert with: sox %s -r 8000 -c 1 -b 16 out.wav)", path, a.Rate, scramble.SampleRate, path)
	}
	return a.Samples, nil
}

// parseKey decodes a 32-byte scrambler key given in hex.
func parseKey(s string) ([]byte, error) {
	key, err := hex.DecodeString(s)
	if err != nil || len(key) != 32 {
		return nil, usageError{"--key-hex: want 64 hex digits (a 32-byte key)"}
	}
	return key, nil
}

// scrambleCmd implements `hushbox scramble` and `hushbox descramble`:
// frame i of the file is (de)scrambled as RTP frame number first+i of the
// given SSRC. The input is padded with silence to whole frames (the output
// keeps the padding, so that its last frame descrambles).
func scrambleCmd(args []string, stdout io.Writer, descramble bool) error {
	name := "scramble"
	if descramble {
		name = "descramble"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	keyHex := fs.String("key-hex", "", "scrambler key, 64 hex digits (required)")
	ssrc := fs.Uint("ssrc", 0, "RTP SSRC the frames are keyed with")
	first := fs.Uint64("first-frame", 0, "frame number of the first frame (RTP timestamp / frame size)")
	frameSize := fs.Int("frame-size", 160, "samples per frame: 80, 160, 240 or 320")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || *keyHex == "" {
		return usageError{fmt.Sprintf("usage: hushbox %s --key-hex K [--ssrc N] [--first-frame F] [--frame-size N] in.wav out.wav", name)}
	}
	if *ssrc > 0xffffffff {
		return usageError{"--ssrc: want a 32-bit number"}
	}
	key, err := parseKey(*keyHex)
	if err != nil {
		return err
	}
	s, err := scramble.New(key, *frameSize)
	if err != nil {
		if errors.Is(err, scramble.ErrFrameSize) {
			return usageError{err.Error()}
		}
		return err
	}
	x, err := readSpeech(pos[0])
	if err != nil {
		return err
	}
	n := *frameSize
	frames := (len(x) + n - 1) / n
	buf := make([]int16, frames*n)
	copy(buf, x)
	op := s.Scramble
	if descramble {
		op = s.Descramble
	}
	for f := range frames {
		frame := buf[f*n : (f+1)*n]
		if err := op(frame, frame, uint32(*ssrc), *first+uint64(f)); err != nil {
			return err
		}
	}
	if err := wav.WriteFile(pos[1], wav.Audio{Rate: scramble.SampleRate, Samples: buf}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%sd %d frames (%.2f s) into %s\n", name, frames, float64(len(buf))/scramble.SampleRate, pos[1])
	return nil
}

// voicetestCmd implements `hushbox voicetest in.wav`: the scrambler on a
// G.711 channel with packet loss, with metrics and spectrograms.
func voicetestCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("voicetest", flag.ContinueOnError)
	keyHex := fs.String("key-hex", "", "scrambler key, 32 or 64 hex digits (default: a fixed test key)")
	ssrc := fs.Uint("ssrc", 0x5eed, "RTP SSRC the frames are keyed with")
	frameSize := fs.Int("frame-size", 160, "samples per packet: 80, 160, 240 or 320")
	alaw := fs.Bool("alaw", false, "G.711 A-law instead of mu-law")
	loss := fs.String("loss", "0,1,5", "packet loss rates in percent, comma separated")
	conceal := fs.String("conceal", "repeat", "lost packet concealment on the descrambled audio: repeat or zero")
	seed := fs.Uint64("seed", 1, "seed of the loss pattern and the noise control")
	pngDir := fs.String("png-dir", "", "folder for the spectrogram PNGs (default: IN without .wav, plus -spectrograms; \"-\" for none)")
	markdown := fs.String("markdown", "", "print the results as Markdown table rows labelled with this text")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: hushbox voicetest [--key-hex K] [--loss 0,1,5] [--conceal repeat|zero] [--alaw] [--png-dir DIR] in.wav"}
	}
	cfg := voicetest.Config{FrameSize: *frameSize, ALaw: *alaw, Seed: *seed}
	if *ssrc > 0xffffffff {
		return usageError{"--ssrc: want a 32-bit number"}
	}
	cfg.SSRC = uint32(*ssrc)
	if *keyHex != "" {
		if cfg.Key, err = parseKey(*keyHex); err != nil {
			return err
		}
	}
	if cfg.Concealment, err = voicetest.ParseConcealment(*conceal); err != nil {
		return usageError{err.Error()}
	}
	for _, f := range strings.Split(*loss, ",") {
		p, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || p < 0 || p > 100 {
			return usageError{fmt.Sprintf("--loss: bad percentage %q", f)}
		}
		cfg.LossRates = append(cfg.LossRates, p/100)
	}
	x, err := readSpeech(pos[0])
	if err != nil {
		return err
	}
	rep, err := voicetest.Run(x, cfg)
	if err != nil {
		return err
	}
	law := "mu-law"
	if *alaw {
		law = "A-law"
	}
	if *markdown != "" {
		// One row: label, segmental SNR without loss (G.711 alone), STOI
		// per loss rate (G.711 alone), STOI of the scrambled signal and of
		// the noise control.
		r0 := rep.Results[0]
		fmt.Fprintf(stdout, "| %s | %.2f (%.2f) |", *markdown, r0.SegSNR, r0.SegSNRPlain)
		for _, r := range rep.Results {
			fmt.Fprintf(stdout, " %.4f (%.4f) |", r.STOI, r.STOIPlain)
		}
		fmt.Fprintf(stdout, " %.3f | %.3f | %.3f |\n", r0.STOIScrambled, r0.STOIControl, r0.STOILeak)
	} else {
		fmt.Fprintf(stdout, "%s: %.2f s, %d-sample packets, G.711 %s, concealment %s, seed %d\n",
			pos[0], float64(len(rep.Original))/scramble.SampleRate, *frameSize, law, cfg.Concealment, *seed)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "loss\tlost\tsegSNR dB\t(G.711 alone)\tSNR dB\t(G.711 alone)\tSTOI\t(G.711 alone)")
		for _, r := range rep.Results {
			fmt.Fprintf(tw, "%g %%\t%d\t%.2f\t(%.2f)\t%.2f\t(%.2f)\t%.4f\t(%.4f)\n",
				100*r.Loss, r.Lost, r.SegSNR, r.SegSNRPlain, r.SNR, r.SNRPlain, r.STOI, r.STOIPlain)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		r0 := rep.Results[0]
		fmt.Fprintf(stdout, "what the relay hears (mean of %d keystreams / noise draws): STOI scrambled %.3f, noise control %.3f (frame energies), leak control %.3f (frame mean and range energies)\n",
			voicetest.Trials, r0.STOIScrambled, r0.STOIControl, r0.STOILeak)
	}
	dir := *pngDir
	if dir == "-" {
		return nil
	}
	if dir == "" {
		dir = strings.TrimSuffix(pos[0], filepath.Ext(pos[0])) + "-spectrograms"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	paths, err := rep.WriteSpectrograms(dir)
	if err != nil {
		return err
	}
	if *markdown == "" {
		fmt.Fprintf(stdout, "spectrograms: %s\n", strings.Join(paths, " "))
	}
	return nil
}
