package sipmsg

import (
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// ErrNoChallenge: a 401/407 without a challenge hushbox can answer.
var ErrNoChallenge = errors.New("no usable digest challenge")

// AnswerChallenge prepares req to be sent again with credentials for the
// 401 or 407 res: it answers the first challenge of an algorithm it
// knows, with the digest URI equal to the request-URI exactly as sent
// (strict servers compare the two), bumps the CSeq and drops the Via so
// the client gives the retry a new branch.
func AnswerChallenge(req *sip.Request, res *sip.Response, user, password string) error {
	chName, credName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		chName, credName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	var chal *digest.Challenge
	for _, h := range res.GetHeaders(chName) {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		c.Algorithm = sip.ASCIIToUpper(c.Algorithm)
		if digest.CanDigest(c) {
			chal = c
			break
		}
	}
	if chal == nil {
		return ErrNoChallenge
	}
	cred, err := digest.Digest(chal, digest.Options{
		Method: string(req.Method), URI: req.Recipient.String(), Username: user, Password: password,
	})
	if err != nil {
		return fmt.Errorf("digest answer: %w", err)
	}
	req.RemoveHeader(credName)
	req.AppendHeader(sip.NewHeader(credName, cred.String()))
	if cs := req.CSeq(); cs != nil {
		cs.SeqNo++
	}
	req.RemoveHeader("Via")
	return nil
}
