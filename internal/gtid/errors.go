// Package gtid holds the pure logic behind rwsplit's read-your-writes
// consistency: MySQL GTID sets, MariaDB GTID positions, binlog file
// positions, and the wire format of the causality token that carries them
// between requests, processes and services.
//
// Nothing here talks to a server. The parsers accept the text that MySQL and
// MariaDB print (@@GLOBAL.gtid_executed, Executed_Gtid_Set, @@gtid_binlog_pos,
// @@last_gtid, SHOW BINARY LOG STATUS) and the String methods print the
// canonical form the servers' wait functions accept
// (WAIT_FOR_EXECUTED_GTID_SET, MASTER_GTID_WAIT, SOURCE_POS_WAIT).
//
// Every value is immutable once built: methods never modify their receiver
// or arguments, and results may share memory with their inputs. Values are
// therefore safe for concurrent use without locking.
//
// Whatever a parser or Decode returns prints (String, File) only ASCII
// letters, digits and the characters ". _ - : ," (commas only between GTID
// list elements, never two dashes in a row), so a parsed or decoded value
// can never carry a quote, a backslash, a semicolon, white space or a
// comment marker into SQL. Callers still pass these values to the server
// as query parameters.
package gtid

import (
	"errors"
	"strconv"
)

// ErrSyntax is matched (with errors.Is) by every error a parser or Decode
// returns for malformed input. The concrete error is a *SyntaxError.
var ErrSyntax = errors.New("gtid: syntax error")

// ErrFlavorMismatch is returned by Merge for tokens that come from servers
// of different flavors (MySQL and MariaDB).
var ErrFlavorMismatch = errors.New("gtid: cannot merge tokens of different server flavors")

// SyntaxError describes malformed input: which kind of value was being
// parsed and what is wrong with it. Msg quotes at most a short prefix of
// the offending part, never the whole (possibly huge) input.
type SyntaxError struct {
	What string // the kind of value: "MySQL GTID set", "MariaDB GTID position", "binlog position", "token"
	Msg  string // what is wrong, naming the bad part
}

// Error implements error.
func (e *SyntaxError) Error() string { return "gtid: invalid " + e.What + ": " + e.Msg }

// Is reports whether target is ErrSyntax.
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

// maxQuote bounds how much of an input an error message quotes.
const maxQuote = 40

// quote returns s as a Go-quoted string, truncated to maxQuote bytes, so an
// error message never echoes unbounded or unprintable input.
func quote(s string) string {
	if len(s) > maxQuote {
		return strconv.Quote(s[:maxQuote]) + "..."
	}
	return strconv.Quote(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// trimSpace removes ASCII white space from both ends of s.
func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// parseUint parses a non-empty string of ASCII digits (leading zeros
// allowed) whose value is at most limit. It never allocates.
func parseUint(s string, limit uint64) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) {
			return 0, false
		}
		d := uint64(c - '0')
		if d > limit || n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}
