package history

import (
	"errors"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit"
)

// Outcome is what is known of a write once it returned.
type Outcome uint8

const (
	Acked   Outcome = iota + 1 // it returned no error: it ran, once
	NotRun                     // it failed and did not run
	Unknown                    // it failed and may have run
)

func (o Outcome) String() string {
	switch o {
	case Acked:
		return "acknowledged"
	case NotRun:
		return "not run"
	case Unknown:
		return "outcome unknown"
	}
	return "?"
}

// WriteOutcome judges a write by the error it returned: nil is
// acknowledged; a *rwsplit.WriteError says itself (NotRun or Unknown);
// rwsplit.ErrBeginAgain (a transaction cut off by a change of primary, given
// up on) committed nothing; a bare rwsplit.ErrNoPrimary was never sent; a
// bare 1290/1836 is the server refusing the workload's one statement (or
// its transaction's COMMIT) before it ran. Any other error (a lost
// connection the library did not judge, a deadline) may have come after the
// write ran: unknown.
func WriteOutcome(err error) Outcome {
	var we *rwsplit.WriteError
	switch {
	case err == nil:
		return Acked
	case errors.As(err, &we) && we.NotRun:
		return NotRun
	case errors.As(err, &we):
		return Unknown
	case errors.Is(err, rwsplit.ErrBeginAgain), errors.Is(err, rwsplit.ErrNoPrimary), is1290(err):
		return NotRun
	}
	return Unknown
}

// is1290 reports whether err is a write refused by a read-only server.
func is1290(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1290 || me.Number == 1836
	}
	return err != nil && (strings.Contains(err.Error(), "Error 1290") || strings.Contains(err.Error(), "Error 1836"))
}
