package scramble

import "sync"

// work is the working memory of one Scramble or Descramble call: the DCT
// coefficients, the mixing's scratch, the FFT data and the key material.
// It is taken from a pool per frame size for the call and given back
// after, rather than kept by each Scrambler: a relay carrying 100
// scrambled calls has 200 Scramblers, and 200 private work areas (about
// 5 KiB each) would leave every frame's memory out of the core's caches,
// while a pooled one is the same few kilobytes, hot, on each processor.
type work struct {
	coef  []int32 // N coefficients
	mixed []int32 // N, scratch of the mixing
	tmp   scratch // FFT data
	ks    ksBuf   // the frame's key material
}

// workPools holds one pool per supported frame size (index as frameSizes).
var workPools [len(frameSizes)]sync.Pool

// getWork returns a work area for frame size n whose key-material buffer
// holds ksSize bytes plus room for the AEAD's tag. n must be a supported
// size; ksSize is a function of n, so every area of a pool fits every
// Scrambler of that size.
func getWork(n, ksSize int) *work {
	p := poolFor(n)
	if w, ok := p.Get().(*work); ok {
		return w
	}
	out := make([]byte, ksSize, ksSize+tagBytes)
	return &work{
		coef: make([]int32, n), mixed: make([]int32, n), tmp: newScratch(n),
		ks: ksBuf{out: out, buf: out},
	}
}

// putWork gives w back to the pool of frame size n.
func putWork(n int, w *work) { poolFor(n).Put(w) }

func poolFor(n int) *sync.Pool {
	// n is 80, 160, 240 or 320 (checked by New).
	return &workPools[n/80-1]
}
