package digest_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"time"

	"hushbox/pbx/digest"
)

// md5hex plays the client's part independently of the package.
func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// The registrar's flow: challenge, then check nonce, verify, record nc.
func Example() {
	key := make([]byte, 32) // in the daemon: store.DB.Secret("nonce-key", 32)
	nonces := digest.NewNonces(key, 5*time.Minute)
	replay := digest.NewReplay(5*time.Minute, 0)
	now := time.Now()

	ch := digest.Challenge{Realm: "hushbox", Nonce: nonces.New(now)}
	_ = ch.String() // sent in WWW-Authenticate with a 401

	// The phone answers.
	ha1 := md5hex("1001:hushbox:secret")
	resp := md5hex(ha1 + ":" + ch.Nonce + ":00000001:c0ffee:auth:" + md5hex("REGISTER:sip:hushbox"))
	header := fmt.Sprintf(`Digest username="1001", realm="hushbox", nonce=%q, uri="sip:hushbox", `+
		`response=%q, qop=auth, nc=00000001, cnonce="c0ffee"`, ch.Nonce, resp)

	creds, err := digest.ParseCredentials(header)
	if err != nil {
		fmt.Println("400:", err)
		return
	}
	if ok, stale := nonces.Check(creds.Nonce, now); !ok {
		fmt.Println("401, stale =", stale)
		return
	}
	alg, _ := creds.NormalizedAlgorithm()
	stored := digest.HA1(alg, "1001", "hushbox", "secret") // in the daemon: store.Extension.HA1(alg)
	nc, _ := creds.NonceCount()
	fmt.Println("verified:", creds.Verify("REGISTER", stored))
	fmt.Println("first use:", replay.Accept(creds.Nonce, nc, now))
	fmt.Println("replayed:", replay.Accept(creds.Nonce, nc, now))
	// Output:
	// verified: true
	// first use: true
	// replayed: false
}
