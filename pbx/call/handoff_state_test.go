package call

import (
	"strings"
	"testing"
)

func TestWithoutKeys(t *testing.T) {
	in := "v=0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:SECRETKEY\r\na=hushbox-key:SHARE\r\na=sendrecv\r\n"
	got := withoutKeys([]byte(in))
	if strings.Contains(got, "SECRETKEY") || strings.Contains(got, "SHARE") {
		t.Fatalf("keys left in %q", got)
	}
	if !strings.Contains(got, "m=audio 4000 RTP/SAVP 0\r\n") || !strings.Contains(got, "a=sendrecv\r\n") {
		t.Fatalf("other lines lost: %q", got)
	}
}
