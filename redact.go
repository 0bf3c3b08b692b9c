package rwsplit

import (
	"context"
	"database/sql/driver"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Passwords never reach an error or a status: a driver whose own errors
// quote its DSN (some wrapper drivers do) has them masked on the way out of
// the connector Open builds.

// secretOf returns what must never be shown of dsn: its password (parsed as
// go-sql-driver/mysql does, else as a URL), or the whole DSN when neither
// parse finds one.
func secretOf(dsn string) string {
	if cfg, err := mysql.ParseDSN(dsn); err == nil {
		return cfg.Passwd
	}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		p, _ := u.User.Password()
		return p
	}
	return dsn
}

// redactedError is an error whose text has a secret masked; errors.Is and
// errors.As still see the original through Unwrap.
type redactedError struct {
	err    error
	secret string
}

func (e *redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.secret, "***")
}

func (e *redactedError) Unwrap() error { return e.err }

// redactErr masks secret in err's text (nil stays nil; so does an error
// that does not show it).
func redactErr(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redactedError{err: err, secret: secret}
}

// redactingConnector masks its DSN's secret in the errors of Connect.
type redactingConnector struct {
	c      driver.Connector
	secret string
}

func (r redactingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := r.c.Connect(ctx)
	return c, redactErr(err, r.secret)
}

func (r redactingConnector) Driver() driver.Driver { return r.c.Driver() }
