// Package sipfast reads the plain UDP REGISTER most phones send and writes
// the registrar's answer to it, without building sipgo messages: one scan
// of the datagram gives byte slices of just the headers the registrar
// needs, and responses are appended to a reused buffer.
//
// It is deliberately narrow. Parse accepts only messages whose every part
// it understands exactly as sipgo's parser does; for anything else (folded
// or odd header lines, a body, several values in one header, headers sipgo
// parses that the registrar does not read, Require, unusual parameter
// spellings, ...) it says no and the caller takes the general sipgo path.
// A refusal costs one scan; a wrong acceptance would answer differently
// from the general path, which the fuzz target of this package checks
// never happens.
package sipfast

// Limits of what Parse accepts; beyond them it refuses (general path).
const (
	// MaxMessage is the largest datagram Parse reads.
	MaxMessage = 4096
	// MaxVias is how many Via headers Parse keeps.
	MaxVias = 8
	// MaxContacts is how many Contact headers Parse keeps.
	MaxContacts = 16
)

// Register is one parsed REGISTER. Every slice points into the datagram
// given to Parse, which must stay unchanged while they are used. Header
// values are trimmed of surrounding spaces and tabs.
type Register struct {
	URI     []byte // request-URI
	Vias    [MaxVias][]byte
	NVias   int
	From    []byte
	To      []byte
	ToUser  []byte // the user part of the To URI: the address of record
	ToTag   bool   // To carries a tag parameter
	CallID  []byte
	CSeq    []byte // the whole value, "1 REGISTER"
	CSeqNum uint32
	// TopRport is true when the top Via has an rport parameter without a
	// value (RFC 3581): the answer fills it in and adds received.
	TopRport  bool
	Contacts  [MaxContacts]Contact
	NContacts int
	Expires   int // the Expires header; -1 when absent
	// Authorization is the only Authorization header's value (nil: none).
	Authorization []byte
	UserAgent     []byte // nil: none
	hasMaxFwd     bool
	hasCL         bool
}

// Contact is one Contact header value.
type Contact struct {
	Wildcard bool   // "Contact: *"
	URI      []byte // inside the angle brackets
	Expires  int    // the expires parameter; -1 when absent
}

// header names Parse knows, after lower-casing and expanding compact forms.
const (
	hOther = iota
	hVia
	hFrom
	hTo
	hCallID
	hCSeq
	hContact
	hExpires
	hAuthorization
	hMaxForwards
	hContentLength
	hUserAgent
	hRefuse // a header sipgo parses (or one with meaning) the registrar does not read
)

// Parse reads data into m and reports whether it is a REGISTER the fast
// path may answer. It never panics and allocates nothing.
func (m *Register) Parse(data []byte) bool {
	*m = Register{Expires: -1}
	if len(data) > MaxMessage {
		return false
	}
	line, rest, ok := nextLine(data)
	if !ok || !m.requestLine(line) {
		return false
	}
	for {
		line, rest, ok = nextLine(rest)
		if !ok {
			return false
		}
		if len(line) == 0 {
			break
		}
		if !m.header(line) {
			return false
		}
	}
	if len(rest) != 0 { // a body, or bytes after the message
		return false
	}
	// What sipmsg.Validate and the registrar require; without it the
	// general path gives the answer (400) or the silence.
	return m.NVias > 0 && m.From != nil && m.To != nil && m.CallID != nil && m.CSeq != nil
}

// nextLine splits off one CRLF-terminated line. Lines holding a bare CR or
// LF, control characters, or starting with white space (folding) are refused.
func nextLine(data []byte) (line, rest []byte, ok bool) {
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c == '\r' {
			if i+1 >= len(data) || data[i+1] != '\n' {
				return nil, nil, false
			}
			line = data[:i]
			if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
				return nil, nil, false
			}
			return line, data[i+2:], true
		}
		if c < 0x20 && c != '\t' || c == 0x7f {
			return nil, nil, false
		}
	}
	return nil, nil, false
}

var (
	registerMethod = []byte("REGISTER")
	sipVersion     = []byte("SIP/2.0")
)

// requestLine accepts exactly "REGISTER sip:... SIP/2.0".
func (m *Register) requestLine(line []byte) bool {
	sp := indexByte(line, ' ')
	if sp < 0 || string(line[:sp]) != string(registerMethod) {
		return false
	}
	rest := line[sp+1:]
	sp = indexByte(rest, ' ')
	if sp <= 0 || string(rest[sp+1:]) != string(sipVersion) {
		return false
	}
	uri := rest[:sp]
	if !plainURI(uri) {
		return false
	}
	m.URI = uri
	return true
}

// header reads one header line.
func (m *Register) header(line []byte) bool {
	colon := indexByte(line, ':')
	if colon <= 0 {
		return false
	}
	name := trim(line[:colon])
	value := trim(line[colon+1:])
	if len(name) == 0 || !isToken(name) || !plainValue(value) {
		return false
	}
	kind := headerKind(name)
	if kind == hOther {
		return true
	}
	if len(value) == 0 {
		return false
	}
	switch kind {
	case hVia:
		return m.via(value)
	case hFrom:
		if m.From != nil {
			return false
		}
		m.From = value
		_, _, ok := nameAddr(value)
		return ok
	case hTo:
		if m.To != nil {
			return false
		}
		m.To = value
		uri, tag, ok := nameAddr(value)
		if !ok {
			return false
		}
		m.ToTag = tag
		user, ok := uriUser(uri)
		m.ToUser = user
		return ok
	case hCallID:
		if m.CallID != nil || indexByte(value, ' ') >= 0 || indexByte(value, '\t') >= 0 || indexByte(value, ',') >= 0 {
			return false
		}
		m.CallID = value
		return true
	case hCSeq:
		return m.cseq(value)
	case hContact:
		return m.contact(value)
	case hExpires:
		if m.Expires >= 0 {
			return false
		}
		n, ok := smallInt(value)
		m.Expires = n
		return ok
	case hAuthorization:
		if m.Authorization != nil {
			return false
		}
		m.Authorization = value
		return true
	case hMaxForwards:
		if m.hasMaxFwd {
			return false
		}
		m.hasMaxFwd = true
		n, ok := smallInt(value)
		return ok && n <= 255
	case hContentLength:
		if m.hasCL {
			return false
		}
		m.hasCL = true
		return string(value) == "0"
	case hUserAgent:
		if m.UserAgent != nil {
			return false
		}
		m.UserAgent = value
		return true
	}
	return false // hRefuse
}

// headerKind classifies a header name, ignoring ASCII case.
func headerKind(name []byte) int {
	if len(name) == 1 {
		switch lower(name[0]) {
		case 'v':
			return hVia
		case 'f':
			return hFrom
		case 't':
			return hTo
		case 'i':
			return hCallID
		case 'm':
			return hContact
		case 'l':
			return hContentLength
		case 'c': // Content-Type: there is no body to describe
			return hRefuse
		}
		return hOther
	}
	// By length first: one or two compares per header instead of a chain.
	switch len(name) {
	case 2:
		if equalFold(name, "to") {
			return hTo
		}
	case 3:
		if equalFold(name, "via") {
			return hVia
		}
	case 4:
		switch {
		case equalFold(name, "from"):
			return hFrom
		case equalFold(name, "cseq"):
			return hCSeq
		}
	case 5:
		if equalFold(name, "route") {
			return hRefuse
		}
	case 7:
		switch {
		case equalFold(name, "call-id"):
			return hCallID
		case equalFold(name, "contact"):
			return hContact
		case equalFold(name, "expires"):
			return hExpires
		case equalFold(name, "require"):
			return hRefuse
		}
	case 8:
		if equalFold(name, "refer-to") {
			return hRefuse
		}
	case 10:
		if equalFold(name, "user-agent") {
			return hUserAgent
		}
	case 11:
		if equalFold(name, "referred-by") {
			return hRefuse
		}
	case 12:
		switch {
		case equalFold(name, "max-forwards"):
			return hMaxForwards
		case equalFold(name, "content-type"), equalFold(name, "record-route"):
			return hRefuse
		}
	case 13:
		switch {
		case equalFold(name, "authorization"):
			return hAuthorization
		case equalFold(name, "proxy-require"):
			return hRefuse
		}
	case 14:
		if equalFold(name, "content-length") {
			return hContentLength
		}
	case 16:
		if equalFold(name, "content-encoding") {
			return hRefuse
		}
	}
	return hOther
}

var viaUDP = []byte("SIP/2.0/UDP ")

// via reads one Via value: "SIP/2.0/UDP host[:port]" and parameters,
// nothing else (no comma-separated list, no spaces around ';').
func (m *Register) via(v []byte) bool {
	if m.NVias == MaxVias || len(v) <= len(viaUDP) || string(v[:len(viaUDP)]) != string(viaUDP) {
		return false
	}
	rest := v[len(viaUDP):]
	semi := indexByte(rest, ';')
	sentBy := rest
	if semi >= 0 {
		sentBy = rest[:semi]
	}
	if !hostPort(sentBy) {
		return false
	}
	top := m.NVias == 0
	sawBranch := false
	for semi >= 0 {
		rest = rest[semi+1:]
		semi = indexByte(rest, ';')
		p := rest
		if semi >= 0 {
			p = rest[:semi]
		}
		name, val, hasVal, ok := param(p)
		if !ok {
			return false
		}
		switch {
		case string(name) == "rport":
			if top && !hasVal {
				m.TopRport = true
			} else if hasVal && !allDigits(val) {
				return false
			}
		case string(name) == "received", string(name) == "branch":
			if !hasVal {
				return false
			}
			sawBranch = sawBranch || string(name) == "branch"
		case equalFold(name, "rport"), equalFold(name, "received"), equalFold(name, "branch"):
			return false // sipgo's parameter names are case-sensitive: leave odd spellings to it
		}
	}
	if !uniqueParams(v) || top && m.TopRport && hasParam(v, "received") {
		return false
	}
	m.Vias[m.NVias] = v
	m.NVias++
	return sawBranch
}

// hasParam reports whether the ';'-separated value v has a parameter name.
func hasParam(v []byte, name string) bool {
	for i := indexByte(v, ';'); i >= 0; {
		v = v[i+1:]
		end := indexByte(v, ';')
		p := v
		if end >= 0 {
			p = v[:end]
		}
		if n, _, _, _ := param(p); string(n) == name {
			return true
		}
		i = end
	}
	return false
}

var methodRegister = []byte(" REGISTER")

// cseq reads "digits REGISTER".
func (m *Register) cseq(v []byte) bool {
	if m.CSeq != nil || len(v) <= len(methodRegister) || string(v[len(v)-len(methodRegister):]) != string(methodRegister) {
		return false
	}
	num := v[:len(v)-len(methodRegister)]
	if len(num) == 0 || len(num) > 9 || !allDigits(num) || len(num) > 1 && num[0] == '0' { // sipgo writes "007" as "7"
		return false
	}
	n := uint32(0)
	for _, c := range num {
		n = n*10 + uint32(c-'0')
	}
	m.CSeq, m.CSeqNum = v, n
	return true
}

// contact reads one Contact value: "*" or "[display] <uri>;params", one
// per header (a comma-separated list goes the general way).
func (m *Register) contact(v []byte) bool {
	if m.NContacts == MaxContacts {
		return false
	}
	c := Contact{Expires: -1}
	if string(v) == "*" {
		c.Wildcard = true
	} else {
		uri, rest, ok := angleAddr(v)
		if !ok {
			return false
		}
		c.URI = uri
		for len(rest) > 0 {
			var p []byte
			p, rest = nextParam(rest)
			name, val, hasVal, ok := param(p)
			if !ok {
				return false
			}
			if string(name) == "expires" {
				n, ok := smallInt(val)
				if !hasVal || !ok || c.Expires >= 0 {
					return false
				}
				c.Expires = n
			} else if equalFold(name, "expires") {
				return false
			}
		}
	}
	m.Contacts[m.NContacts] = c
	m.NContacts++
	return true
}

// Branch returns the branch parameter of the top Via (nil: none).
func (m *Register) Branch() []byte {
	if m.NVias == 0 {
		return nil
	}
	v := m.Vias[0]
	for i := indexByte(v, ';'); i >= 0; {
		v = v[i+1:]
		end := indexByte(v, ';')
		p := v
		if end >= 0 {
			p = v[:end]
		}
		if name, val, _, _ := param(p); string(name) == "branch" {
			return val
		}
		i = end
	}
	return nil
}
