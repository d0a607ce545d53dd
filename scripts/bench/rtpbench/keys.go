package main

import (
	"crypto/sha256"
	"fmt"

	"hushbox/pbx/srtp"
)

// benchKey derives a fixed SRTP master key||salt for call i, leg ("A" or
// "B") and who encrypts with it ("party" or "relay"). The harness and the
// load generator run in separate processes and derive the same keys; these
// are benchmark keys, never used for anything else.
func benchKey(i int, leg, who string) srtp.Crypto {
	sum := sha256.Sum256([]byte(fmt.Sprintf("hushbox-bench/%d/%s/%s", i, leg, who)))
	s := srtp.AES128CMSHA1_80
	return srtp.Crypto{Tag: 1, Suite: s, Key: sum[:s.KeyLen()]}
}

// scrambleKey is the fixed 32-byte scrambler key of the benchmark.
var scrambleKey = [32]byte([]byte("hushbox-bench-scrambler-key-32b!"))
