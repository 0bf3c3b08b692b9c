package history

import (
	"time"

	"github.com/rwsplit/rwsplit"
)

// ModeKind is a consistency mode, as the checker needs to know it.
type ModeKind uint8

const (
	Eventual ModeKind = iota + 1
	Primary
	Sleep
	CaughtUp
	WaitPosition
	WaitGTID
	Fast
	Latest
	Monotonic
	MaxStaleness
)

// modeKinds are the mode kinds in the report's order.
var modeKinds = []ModeKind{Eventual, Primary, Sleep, CaughtUp, WaitPosition, WaitGTID, Fast, Latest, Monotonic, MaxStaleness}

var modeNames = map[ModeKind]string{
	Eventual: "Eventual", Primary: "Primary", Sleep: "Sleep", CaughtUp: "CaughtUp",
	WaitPosition: "WaitPosition", WaitGTID: "WaitGTID",
	Fast: "Fast", Latest: "Latest", Monotonic: "Monotonic", MaxStaleness: "MaxStaleness",
}

// String is the mode's name, as the report's Modes are keyed.
func (k ModeKind) String() string { return modeNames[k] }

// Mode is the mode of one read: a kind and its duration (Sleep's delay,
// a wait's timeout), and whether it came from the DB's default rather than
// the context.
type Mode struct {
	Kind     ModeKind
	Duration time.Duration
	Default  bool
}

// Consistency is the rwsplit mode m stands for.
func (m Mode) Consistency() rwsplit.Consistency {
	switch m.Kind {
	case Primary:
		return rwsplit.Primary
	case Sleep:
		return rwsplit.Sleep(m.Duration)
	case CaughtUp:
		return rwsplit.CaughtUp(m.Duration)
	case WaitPosition:
		return rwsplit.WaitPosition(m.Duration)
	case WaitGTID:
		return rwsplit.WaitGTID(m.Duration)
	case Fast:
		return rwsplit.Fast
	case Latest:
		return rwsplit.Latest(m.Duration)
	case Monotonic:
		return rwsplit.Monotonic(m.Duration)
	case MaxStaleness:
		return rwsplit.MaxStaleness(m.Duration)
	}
	return rwsplit.Eventual
}

func (m Mode) String() string {
	s := m.Consistency().String()
	if m.Default {
		s += " (DB default)"
	}
	return s
}

// waits reports whether the mode promises read-your-writes (WaitPosition,
// WaitGTID, and Fast and Monotonic, which read the scope's writes too).
func (m Mode) waits() bool {
	switch m.Kind {
	case WaitPosition, WaitGTID, Fast, Monotonic:
		return true
	}
	return false
}
