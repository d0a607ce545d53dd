package backup

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

// TestStreamSizes seals and opens payloads around the chunk size, written
// in uneven pieces: a final chunk may be short or exactly full.
func TestStreamSizes(t *testing.T) {
	key := make([]byte, 32)
	aad := []byte("header")
	for _, n := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 2 * ChunkSize, 2*ChunkSize + 7} {
		plain := make([]byte, n)
		_, _ = rand.Read(plain)
		var sealed bytes.Buffer
		sw, err := newSealWriter(&sealed, key, aad)
		if err != nil {
			t.Fatal(err)
		}
		for rest := plain; len(rest) > 0; {
			k := min(len(rest), 1000+len(rest)%777)
			if _, err := sw.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		if err := sw.Close(); err != nil {
			t.Fatal(err)
		}
		chunks := max(1, (n+ChunkSize-1)/ChunkSize)
		if want := n + chunks*tagSize; sealed.Len() != want {
			t.Errorf("%d bytes sealed to %d, want %d", n, sealed.Len(), want)
		}
		or, err := newOpenReader(bytes.NewReader(sealed.Bytes()), key, aad)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(or)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%d bytes: opened %d bytes, %v", n, len(got), err)
		}
		// Another header (additional data) does not open it.
		or, _ = newOpenReader(bytes.NewReader(sealed.Bytes()), key, []byte("other"))
		if _, err := io.ReadAll(or); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%d bytes: opened under other additional data: %v", n, err)
		}
	}
}

func TestChunkNonce(t *testing.T) {
	if got := chunkNonce(0x0102, true); !bytes.Equal(got, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1}) {
		t.Errorf("nonce = %x", got)
	}
	if got := chunkNonce(1<<63, false); got[3] != 0x80 || got[11] != 0 {
		t.Errorf("nonce = %x", got)
	}
}
