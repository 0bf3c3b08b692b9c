// Package redact keeps passwords out of errors: every error that may quote
// a DSN, or a driver's error about one, goes through DSN (or Err with
// Of(dsn)).
package redact

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Passwords never reach an error or a status. Every error that may quote a
// DSN, or a driver's error about one, goes through DSN (or Err with Of(dsn)): go-sql-driver/mysql's ParseDSN errors (they quote the
// database name, parameter values and the network, which hold part of the
// password when the DSN is malformed: "user:pw/db" fails with "default addr
// for network 'user:pw' unknown"), Open's (the same server given twice),
// OpenFromEnv's, and those of the connector Open builds, for drivers whose
// own errors quote their DSN (some wrapper drivers do).

// Secret is what must never be shown of a DSN: its password in each form an
// error may quote it, longest first.
type Secret []string

// Of returns what must never be shown of dsn. For a DSN that
// go-sql-driver/mysql parses, its password. Otherwise (and for one that
// parses without any user, as "user:pw tcp(host)/db" does, the '@'
// forgotten), the password as a URL's user info gives it (decoded and as
// written); else as the mysql form "user:password@..." would (and, when
// the DSN's last '/' falls inside it, each of its parts between '/'s and
// each '%' with the two bytes after it, which ParseDSN quotes as the
// network, the database name and its bad escape); else, with no
// '@', what follows "user:" up to the address or the first '/'; else the
// whole DSN.
func Of(dsn string) Secret {
	cfg, perr := mysql.ParseDSN(dsn)
	switch {
	case perr == nil && cfg.Passwd != "":
		return Secret{cfg.Passwd}
	case perr == nil && (cfg.User != "" || !strings.Contains(dsn, ":")):
		return nil // no password
	}
	var s Secret
	add := func(v string) {
		if v != "" && !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	at := strings.LastIndexByte(dsn, '@')
	if u, err := url.Parse(dsn); err == nil && u.User != nil && strings.Contains(dsn, "://") {
		p, _ := u.User.Password()
		add(p)
		info := dsn[strings.Index(dsn, "://")+3:]
		if i := strings.IndexAny(info, "/?#"); i >= 0 {
			info = info[:i]
		}
		if i := strings.LastIndexByte(info, '@'); i >= 0 {
			if _, raw, ok := strings.Cut(info[:i], ":"); ok {
				add(raw)
			}
		}
	} else if at >= 0 {
		info := dsn[:at]
		if i := strings.Index(info, "://"); i >= 0 {
			info = info[i+3:] // a URL that did not parse
		}
		if _, pw, ok := strings.Cut(info, ":"); ok {
			add(pw)
			if !strings.Contains(dsn[at:], "/") {
				// The last '/' is the password's: ParseDSN quotes what
				// precedes its first '/' as the network, what follows its
				// last as the database name, and the database name's
				// bad escape ("%" and the next two bytes) as url does.
				for _, piece := range strings.Split(pw, "/") {
					add(piece)
				}
				rest := pw + dsn[at:]
				for i := range len(pw) {
					if pw[i] == '%' {
						add(rest[i:min(i+3, len(rest))])
					}
				}
			}
		}
	} else if c := strings.IndexByte(dsn, ':'); c >= 0 {
		end := len(dsn)
		if i := strings.IndexAny(dsn, "(/"); i >= 0 {
			end = i
		}
		if c < end {
			add(dsn[c+1 : end])
		}
	}
	if s == nil && perr != nil {
		return Secret{dsn}
	}
	slices.SortStableFunc(s, func(a, b string) int { return len(b) - len(a) })
	return s
}

// Mask returns text with every form of the secret replaced by "***".
func (s Secret) Mask(text string) string {
	for _, v := range s {
		text = strings.ReplaceAll(text, v, "***")
	}
	return text
}

// redactedError is an error whose text has a secret masked; errors.Is and
// errors.As still see the original through Unwrap. It keeps the masked text
// only, never the secret.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }

// GoString keeps %#v from printing the original error's fields.
func (e *redactedError) GoString() string { return fmt.Sprintf("rwsplit.redactedError(%q)", e.text) }

func (e *redactedError) Unwrap() error { return e.err }

// Err masks s in err's text (nil stays nil; so does an error that
// does not show it).
func Err(err error, s Secret) error {
	if err == nil || len(s) == 0 {
		return err
	}
	text := err.Error()
	if masked := s.Mask(text); masked != text {
		return &redactedError{err: err, text: masked}
	}
	return err
}

// DSN masks dsn's secret in err's text: the one way an error that may
// quote dsn is made safe to show.
func DSN(err error, dsn string) error { return Err(err, Of(dsn)) }

// Connector returns c with s masked in the errors of Connect.
func Connector(c driver.Connector, s Secret) driver.Connector { return connector{c, s} }

type connector struct {
	c      driver.Connector
	secret Secret
}

func (r connector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := r.c.Connect(ctx)
	return c, Err(err, r.secret)
}

func (r connector) Driver() driver.Driver { return r.c.Driver() }
