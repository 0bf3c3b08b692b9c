package gtid

import (
	"math"
	"strings"
)

// maxFileLen is the longest binlog file name accepted.
const maxFileLen = 255

// maxExtDigits bounds the numeric extension of a binlog file name so that
// it always fits a uint64.
const maxExtDigits = 19

// BinlogPos is a position in a server's binary log: a file name such as
// "binlog.000042" and a byte offset in it, as reported by SHOW BINARY LOG
// STATUS (MySQL 8.2+), SHOW BINLOG STATUS / SHOW MASTER STATUS (MariaDB) and
// awaited by SOURCE_POS_WAIT / MASTER_POS_WAIT.
//
// The zero value means "unknown". File names are valid when they match
// [A-Za-z0-9._-]{1,255}, contain no "--", and end in a numeric extension
// after a non-empty base name ("mysql-bin.000003"); see Validate.
//
// ServerID names the server whose binary log the position is in: its
// @@server_id, 0 when unknown. A position means nothing on another server's
// log, so positions of different servers are never comparable (Compare).
// String and the wait functions use only File and Pos.
type BinlogPos struct {
	File     string
	Pos      uint64
	ServerID uint32
}

func binlogErr(msg string) error { return &SyntaxError{What: "binlog position", Msg: msg} }

// ParseBinlogPos parses "file:pos", e.g. "binlog.000042:1234". The file
// name must be valid (see BinlogPos) and pos a decimal uint64. The empty
// string is the zero (unknown) position.
func ParseBinlogPos(s string) (BinlogPos, error) {
	if s == "" {
		return BinlogPos{}, nil
	}
	k := strings.LastIndexByte(s, ':')
	if k < 0 {
		return BinlogPos{}, binlogErr("missing ':' in " + quote(s) + " (want file:pos)")
	}
	file, ps := s[:k], s[k+1:]
	if err := validateFile(file); err != nil {
		return BinlogPos{}, err
	}
	pos, ok := parseUint(ps, math.MaxUint64)
	if !ok {
		return BinlogPos{}, binlogErr("bad offset " + quote(ps) + " (want a decimal uint64)")
	}
	return BinlogPos{File: file, Pos: pos}, nil
}

// IsZero reports whether p is the zero (unknown) position: no file and no
// offset, whatever its ServerID.
func (p BinlogPos) IsZero() bool { return p.File == "" && p.Pos == 0 }

// Validate reports whether p is the zero position or has a valid file name
// (see BinlogPos). Use it on positions read from a server before carrying
// them in a token: Encode leaves out a position that does not validate.
func (p BinlogPos) Validate() error {
	if p.IsZero() {
		return nil
	}
	return validateFile(p.File)
}

// validateFile checks a binlog file name: [A-Za-z0-9._-]{1,255}, no "--",
// a non-empty base name, a '.' and 1 to 19 digits.
func validateFile(f string) error {
	if f == "" {
		return binlogErr("empty file name")
	}
	if len(f) > maxFileLen {
		return binlogErr("file name longer than 255 bytes: " + quote(f))
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		ok := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || isDigit(c) || c == '.' || c == '_' || c == '-'
		if !ok {
			return binlogErr("file name " + quote(f) + " has a character outside [A-Za-z0-9._-]")
		}
		if c == '-' && i > 0 && f[i-1] == '-' {
			return binlogErr("file name " + quote(f) + " contains \"--\"")
		}
	}
	if base, _, ok := splitFile(f); !ok || base == "" {
		return binlogErr("file name " + quote(f) + " lacks a base name and a numeric extension (like binlog.000042)")
	}
	return nil
}

// splitFile splits a file name at its last '.' and checks that the
// extension is 1 to maxExtDigits digits.
func splitFile(f string) (base, ext string, ok bool) {
	k := strings.LastIndexByte(f, '.')
	if k < 0 {
		return "", "", false
	}
	base, ext = f[:k], f[k+1:]
	if ext == "" || len(ext) > maxExtDigits {
		return "", "", false
	}
	for i := 0; i < len(ext); i++ {
		if !isDigit(ext[i]) {
			return "", "", false
		}
	}
	return base, ext, true
}

// Compare orders two positions of the same binary log. The positions are
// comparable (ok is true) when both are zero, or when they have the same
// ServerID (both unknown, or the same server) and both file names have a
// numeric extension and the same base name ("binlog.000009" and
// "binlog.000010"); positions of different servers (a failover), of a
// server whose log was renamed (a different base name), or an unknown
// position and a known one, are not comparable. Extensions are compared as
// numbers, then offsets. The result is -1, 0 or +1 as p is before, at, or
// after q.
func (p BinlogPos) Compare(q BinlogPos) (c int, ok bool) {
	if p.IsZero() || q.IsZero() {
		return 0, p.IsZero() && q.IsZero()
	}
	if p.ServerID != q.ServerID {
		return 0, false
	}
	pb, pe, ok1 := splitFile(p.File)
	qb, qe, ok2 := splitFile(q.File)
	if !ok1 || !ok2 || pb != qb {
		return 0, false
	}
	pn, _ := parseUint(pe, math.MaxUint64)
	qn, _ := parseUint(qe, math.MaxUint64)
	switch {
	case pn < qn:
		return -1, true
	case pn > qn:
		return 1, true
	case pe != qe:
		// Same number spelt differently ("bin.9", "bin.009"): not the same file.
		return 0, false
	case p.Pos < q.Pos:
		return -1, true
	case p.Pos > q.Pos:
		return 1, true
	}
	return 0, true
}

// String returns "file:pos" (without the ServerID), or "" for the zero
// position.
func (p BinlogPos) String() string {
	if p.IsZero() {
		return ""
	}
	return string(p.appendText(make([]byte, 0, len(p.File)+21)))
}

func (p BinlogPos) appendText(b []byte) []byte {
	b = append(b, p.File...)
	b = append(b, ':')
	return appendUint(b, p.Pos)
}

// appendTokenText appends "file:pos", followed by ":server_id" when the
// ServerID is known (the token's form, format version 2).
func (p BinlogPos) appendTokenText(b []byte) []byte {
	b = p.appendText(b)
	if p.ServerID != 0 {
		b = append(b, ':')
		b = appendUint(b, uint64(p.ServerID))
	}
	return b
}
