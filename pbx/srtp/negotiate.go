package srtp

// Negotiate answers an SDES offer (RFC 4568 section 7.1.2): among the
// offered attributes it picks the strongest supported suite (AEAD_AES_256_GCM,
// AEAD_AES_128_GCM, AES_256_CM_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_80,
// AES_CM_128_HMAC_SHA1_32; the first offered on a tie) whose attribute is
// valid, and returns it as remote together with hushbox's answer: same tag
// and suite, hushbox's own key. The answer reuses the key of the first
// attribute in reuse with the chosen suite and no MKI (a re-INVITE that keeps
// hushbox's key keeps the SRTP stream going), otherwise gets a fresh one.
// ok is false when nothing offered is usable.
func Negotiate(offered []Crypto, reuse ...Crypto) (remote, local Crypto, ok bool) {
	best := -1
	for i, c := range offered {
		if c.Validate() != nil {
			continue
		}
		if best < 0 || c.Suite.info().strength > offered[best].Suite.info().strength {
			best = i
		}
	}
	if best < 0 {
		return Crypto{}, Crypto{}, false
	}
	remote = offered[best]
	for _, r := range reuse {
		if r.Suite == remote.Suite && len(r.MKI) == 0 && r.Validate() == nil {
			local = Crypto{Tag: remote.Tag, Suite: r.Suite, Key: r.Key}
			return remote, local, true
		}
	}
	local, err := NewCrypto(remote.Tag, remote.Suite)
	if err != nil { // unreachable: remote passed Validate
		return Crypto{}, Crypto{}, false
	}
	return remote, local, true
}

// Select finds the attribute of ours that an answer accepted: the one with
// the answer's tag and suite. ok is false when the answer names a tag
// hushbox did not offer or changed the suite (RFC 4568 section 7.1.3: the
// offer then failed).
func Select(ours []Crypto, answer Crypto) (Crypto, bool) {
	for _, c := range ours {
		if c.Tag == answer.Tag && c.Suite == answer.Suite {
			return c, true
		}
	}
	return Crypto{}, false
}
