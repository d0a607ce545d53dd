package endpoint

import "fmt"

// EventKind says what happened.
type EventKind int

// Events, in the order a call usually sees them.
const (
	EventRegistered   EventKind = iota + 1 // the registrar accepted us (again)
	EventRegisterFail                      // registration failed; Reason says why
	EventIncoming                          // a call rings here; Peer is the caller
	EventRinging                           // our call rings at the other end
	EventInCall                            // the call is answered, media flows
	EventScrambled                         // the call is scrambled end to end; SAS set
	EventClear                             // the call is not scrambled; Reason says why
	EventDTMF                              // the peer sent a key; Digit set
	EventEnded                             // the call is over; Reason says why
)

var eventNames = map[EventKind]string{
	EventRegistered: "registered", EventRegisterFail: "registration failed", EventIncoming: "incoming",
	EventRinging: "ringing", EventInCall: "in call", EventScrambled: "scrambled", EventClear: "not scrambled",
	EventDTMF: "dtmf", EventEnded: "ended",
}

func (k EventKind) String() string {
	if s, ok := eventNames[k]; ok {
		return s
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// Event is one state change, for UIs (the command line, the web page, the
// board's LEDs).
type Event struct {
	Kind   EventKind
	Peer   string // the other party's number, when known
	SAS    string // EventScrambled: the short authentication string to read aloud
	Digit  rune   // EventDTMF
	Reason string // EventRegisterFail, EventClear, EventEnded
}

// String is the line `hushbox phone` prints, without its "phone: " prefix.
func (e Event) String() string {
	switch e.Kind {
	case EventRegistered:
		return "registered"
	case EventRegisterFail:
		return "registration failed: " + e.Reason
	case EventIncoming:
		return "incoming call from " + e.Peer
	case EventRinging:
		return "ringing " + e.Peer
	case EventInCall:
		return "in call with " + e.Peer
	case EventScrambled:
		return "call " + e.Peer + " scrambled SAS=" + e.SAS
	case EventClear:
		return "call " + e.Peer + " not scrambled (" + e.Reason + ")"
	case EventDTMF:
		return "dtmf " + string(e.Digit)
	case EventEnded:
		return "ended (" + e.Reason + ")"
	}
	return e.Kind.String()
}

// State is the phone's state as a UI shows it.
type State string

// States.
const (
	StateIdle    State = "idle"    // registered (or not), no call
	StateDialing State = "dialing" // our INVITE is out
	StateRinging State = "ringing" // an incoming call waits for Answer
	StateInCall  State = "in call" // answered
)

// Status is a snapshot for UIs.
type Status struct {
	Registered bool   `json:"registered"`
	State      State  `json:"state"`
	Peer       string `json:"peer,omitempty"`
	Scrambled  bool   `json:"scrambled"`
	SAS        string `json:"sas,omitempty"`
	// FramesSent and FramesReceived count RTP packets of the current call.
	FramesSent     uint64 `json:"frames_sent"`
	FramesReceived uint64 `json:"frames_received"`
}
