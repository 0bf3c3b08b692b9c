package rwsplit_test

// No password from a DSN may appear in an error or a status, whatever the
// driver's name (wrapper drivers register their own).

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
)

// secret is the password in every DSN of these tests.
const secret = "Zq9-S3cr3t-Pa55w0rd"

var driverSeq atomic.Int64

// registerDriver registers d under a fresh name and returns the name.
func registerDriver(d driver.Driver) string {
	name := fmt.Sprintf("rwsplit-redact-%d", driverSeq.Add(1))
	sql.Register(name, d)
	return name
}

// refusedDSN is a DSN of a server that refuses connections: port 1 of the
// loopback, nothing else is dialled.
func refusedDSN(db string) string {
	return "app:" + secret + "@tcp(127.0.0.1:1)/" + db + "?timeout=300ms"
}

// assertNoSecret fails if any of the texts holds the password.
func assertNoSecret(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		assert.NotContains(t, s, secret, "%s leaks the password: %s", what, s)
	}
}

// TestOpenErrorsNeverShowAPassword: Open's own errors (a server given twice,
// a DSN that does not parse, an empty one) under "mysql" and under wrapper
// driver names, with DSNs the mysql driver parses and DSNs it does not.
func TestOpenErrorsNeverShowAPassword(t *testing.T) {
	wrapper := registerDriver(&mysql.MySQLDriver{})
	urlStyle := "postgres://app:" + secret + "@127.0.0.1:1/app"
	cases := []struct {
		name, driver, primary string
		replicas              []string
	}{
		{"duplicate/mysql", "mysql", refusedDSN("app"), []string{refusedDSN("app")}},
		{"duplicate/wrapper", wrapper, refusedDSN("app"), []string{refusedDSN("app")}},
		{"duplicate replicas/wrapper", wrapper, refusedDSN("a"), []string{refusedDSN("b"), refusedDSN("b")}},
		{"duplicate unparsed/wrapper", wrapper, urlStyle, []string{urlStyle}},
		{"unparsed/mysql", "mysql", "app:" + secret + "@tcp(127.0.0.1:1/app", nil},
		{"unparsed replica/mysql", "mysql", refusedDSN("app"), []string{"app:" + secret + "@tcp(127.0.0.1:1"}},
		{"bad param/mysql", "mysql", "app:" + secret + "@tcp(127.0.0.1:1)/app?parseTime=maybe", nil},
		{"unknown driver", "no-such-driver-" + secret[:3], refusedDSN("app"), nil},
		{"empty replica", wrapper, refusedDSN("app"), []string{""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, err := rwsplit.Open(c.driver, c.primary, c.replicas)
			if err == nil {
				_ = db.Close()
				t.Fatalf("Open succeeded")
			}
			assertNoSecret(t, "Open", err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		})
	}
}

// TestRuntimeErrorsNeverShowAPassword: with servers that refuse
// connections, the errors of every call and every status (each server's
// Health, Stats, the version detection) hold no password, under "mysql" and
// a wrapper name.
func TestRuntimeErrorsNeverShowAPassword(t *testing.T) {
	for _, name := range []string{"mysql", registerDriver(&mysql.MySQLDriver{})} {
		t.Run(name, func(t *testing.T) {
			db, err := rwsplit.Open(name, refusedDSN("p"), []string{refusedDSN("r0"), refusedDSN("r1")},
				rwsplit.WithMonitorInterval(20*time.Millisecond))
			require.NoError(t, err)
			defer db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var texts []string
			add := func(err error) {
				if err != nil {
					texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
				}
			}
			add(db.PingContext(ctx))
			_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (1)")
			add(err)
			_, err = db.QueryContext(ctx, "SELECT 1")
			add(err)
			add(db.QueryRowContext(ctx, "SELECT 1").Scan(new(int)))
			for _, mode := range []rwsplit.Consistency{rwsplit.WaitGTID(50 * time.Millisecond).OrFail(), rwsplit.WaitPosition(50 * time.Millisecond), rwsplit.CaughtUp(50 * time.Millisecond).OrFail()} {
				add(db.QueryRowContext(rwsplit.WithConsistency(ctx, mode), "SELECT 1").Scan(new(int)))
			}
			sess := rwsplit.NewSession(rwsplit.Token{})
			_, err = db.ExecContext(rwsplit.WithSession(ctx, sess), "INSERT INTO t VALUES (1)")
			add(err)
			_, err = sess.TokenContext(ctx)
			add(err)
			_, err = rwsplit.DetectVersion(ctx, rwsplit.PrimaryServer(db))
			add(err)
			tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			if err == nil {
				_ = tx.Rollback()
			}
			add(err)
			_, err = db.PrepareContext(ctx, "SELECT 1")
			add(err)
			require.NotEmpty(t, texts)
			require.Eventually(t, func() bool {
				for _, s := range db.Servers() {
					if s.Health().LastError == "" {
						return false
					}
				}
				return true
			}, 5*time.Second, 10*time.Millisecond)
			for _, s := range db.Servers() {
				texts = append(texts, fmt.Sprintf("%s %+v", s.Name(), s.Health()))
			}
			texts = append(texts, fmt.Sprintf("%+v", db.Stats()))
			assertNoSecret(t, "a call or a status", texts...)
			assert.True(t, strings.Contains(strings.Join(texts, "\n"), "127.0.0.1:1"), "the errors are there, and name the address")
		})
	}
}

// leakyDriver is a wrapper driver whose errors quote its whole DSN, as some
// do: OpenConnector fails for a DSN that says so, Connect always fails.
type leakyDriver struct{}

func (leakyDriver) Open(dsn string) (driver.Conn, error) {
	return nil, fmt.Errorf("leaky: cannot reach %s", dsn)
}

func (leakyDriver) OpenConnector(dsn string) (driver.Connector, error) {
	if strings.Contains(dsn, "badconnector") {
		return nil, fmt.Errorf("leaky connector: bad %s", dsn)
	}
	return leakyConnector{dsn}, nil
}

type leakyConnector struct{ dsn string }

func (c leakyConnector) Connect(context.Context) (driver.Conn, error) {
	return nil, fmt.Errorf("leaky: cannot reach %s", c.dsn)
}

func (leakyConnector) Driver() driver.Driver { return leakyDriver{} }

// TestDriverErrorsQuotingTheDSNAreMasked: a driver whose own errors quote the
// DSN (password included) has the password masked in Open's error, in call
// errors, in PingContext and in Health.LastError; errors.Is still sees through.
func TestDriverErrorsQuotingTheDSNAreMasked(t *testing.T) {
	name := registerDriver(leakyDriver{})
	url := func(host string) string { return "leaky://app:" + secret + "@" + host + "/app" }
	for _, dsn := range []string{refusedDSN("badconnector"), url("badconnector")} {
		_, err := rwsplit.Open(name, dsn, nil)
		require.Error(t, err)
		assertNoSecret(t, "Open", err.Error())
		assert.Contains(t, err.Error(), "***", "the password is masked, the rest kept: %v", err)
	}
	for _, dsns := range [][]string{{refusedDSN("p"), refusedDSN("r")}, {url("p"), url("r")}} {
		db, err := rwsplit.Open(name, dsns[0], dsns[1:], rwsplit.WithMonitorInterval(20*time.Millisecond))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = db.PingContext(ctx)
		require.Error(t, err)
		assertNoSecret(t, "PingContext", err.Error())
		_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (1)")
		require.Error(t, err)
		assertNoSecret(t, "ExecContext", err.Error())
		err = db.QueryRowContext(ctx, "SELECT 1").Scan(new(int))
		require.Error(t, err)
		assertNoSecret(t, "QueryRow", err.Error())
		cancel()
		require.Eventually(t, func() bool { return rwsplit.ReplicaStatus(db)[0].LastError != "" }, 5*time.Second, 10*time.Millisecond)
		assertNoSecret(t, "Health", rwsplit.ReplicaStatus(db)[0].LastError)
		require.NoError(t, db.Close())
	}
}

// dsnPassword is the password of TestRedactEveryErrorQuotingADSN's DSNs,
// as in "user:s3cr3t@tcp(127.0.0.1:3306)/db".
const dsnPassword = "s3cr3t"

// Malformed DSNs whose errors quote part of them. go-sql-driver/mysql's
// ParseDSN errors quote the network ("default addr for network '%s'
// unknown"), the database name ("invalid dbname %q") and parameter values;
// in a malformed DSN those hold the password.
const (
	// goodDSN parses; it names a port nothing listens on.
	goodDSN = "user:" + dsnPassword + "@tcp(127.0.0.1:1)/db?timeout=300ms"
	// noAddrDSN forgot "@tcp(...)": its network is "user:s3cr3t".
	noAddrDSN = "user:" + dsnPassword + "/db"
	// noAtDSN forgot the '@': it parses, with "user:s3cr3t tcp" as its
	// network, which a dial error and Open's key quote.
	noAtDSN = "user:" + dsnPassword + " tcp(127.0.0.1:1)/db?timeout=300ms"
	// slashDSN's password, "k9/s3cr3t%zz", holds a '/' and the DSN no
	// database: its last '/' is the password's, the network "user:k9" and
	// the database name "s3cr3t%zz@tcp(127.0.0.1:3306)", which does not
	// unescape (url's error quotes "%zz").
	slashDSN = "user:k9/" + dsnPassword + "%zz@tcp(127.0.0.1:3306)"
)

// TestRedactEveryErrorQuotingADSN: every error that may quote a DSN, or a
// driver's error about one (ParseDSN's, Open's, OpenFromEnv's, a dial's), never
// shows its password, in err.Error(), %+v or %#v; the masked part reads "***".
func TestRedactEveryErrorQuotingADSN(t *testing.T) {
	wrapper, leaky := registerDriver(&mysql.MySQLDriver{}), registerDriver(leakyDriver{})
	env := func(vars map[string]string) func(t *testing.T) error {
		return func(t *testing.T) error {
			prefix := fmt.Sprintf("RWSPLIT_REDACT_%d", driverSeq.Add(1))
			for k, v := range vars {
				t.Setenv(prefix+"_"+k, v)
			}
			db, err := rwsplit.OpenFromEnv(prefix)
			if err == nil {
				_ = db.Close()
			}
			return err
		}
	}
	open := func(driverName, primary string, replicas ...string) func(*testing.T) error {
		return func(*testing.T) error {
			db, err := rwsplit.Open(driverName, primary, replicas)
			if err == nil {
				_ = db.Close()
			}
			return err
		}
	}
	slashSecrets := []string{dsnPassword, "k9", "%zz"}
	// call opens dsns and returns the error of f.
	call := func(f func(db *rwsplit.DB, ctx context.Context) error, dsns ...string) func(*testing.T) error {
		return func(*testing.T) error {
			db, err := rwsplit.Open("mysql", dsns[0], dsns[1:])
			if err != nil {
				return err
			}
			defer db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return f(db, ctx)
		}
	}
	exec := func(db *rwsplit.DB, ctx context.Context) error {
		_, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1)")
		return err
	}
	read := func(db *rwsplit.DB, ctx context.Context) error {
		return db.QueryRowContext(ctx, "SELECT 1").Scan(new(int))
	}
	info := func(db *rwsplit.DB, ctx context.Context) error {
		_, err := rwsplit.DetectVersion(ctx, rwsplit.PrimaryServer(db))
		return err
	}
	lastError := func(db *rwsplit.DB, ctx context.Context) error {
		if e := db.Servers()[0].Health().LastError; e != "" {
			return errors.New(e) // the primary's check in New
		}
		return nil
	}
	cases := []struct {
		name    string
		run     func(t *testing.T) error
		secrets []string // what must not show; dsnPassword if nil
		masked  bool     // the error quotes the password, masked
	}{
		{"Open/mysql/no address", open("mysql", noAddrDSN), nil, true},
		{"Open/mysql/no address, replica", open("mysql", goodDSN, noAddrDSN), nil, true},
		{"Open/mysql/slash in password", open("mysql", slashDSN), slashSecrets, true},
		{"Open/mysql/address not closed", open("mysql", "user:"+dsnPassword+"@tcp(127.0.0.1:3306/db"), nil, false},
		{"Open/mysql/bad database name", open("mysql", "user:"+dsnPassword+"@tcp(127.0.0.1:3306)/db%zz"), nil, false},
		{"Open/mysql/bad parameter", open("mysql", "user:"+dsnPassword+"@tcp(127.0.0.1:3306)/db?parseTime=maybe"), nil, false},
		{"Open/wrapper/no address", open(wrapper, noAddrDSN), nil, true},
		{"Open/wrapper/slash in password", open(wrapper, goodDSN, slashDSN), slashSecrets, true},
		{"Open/URL, escaped password", open(leaky, "leaky://app:"+dsnPassword+"%21@badconnector/app"), nil, true},
		{"Open/mysql/duplicate", open("mysql", goodDSN, goodDSN), nil, false},
		{"Open/mysql/duplicate, no '@'", open("mysql", noAtDSN, noAtDSN), nil, true},
		{"Open/wrapper/duplicate, no '@'", open(wrapper, goodDSN, noAtDSN, noAtDSN), nil, true},
		{"OpenFromEnv/PRIMARY_DSN", env(map[string]string{"PRIMARY_DSN": noAddrDSN}), nil, true},
		{"OpenFromEnv/REPLICA_DSNS", env(map[string]string{"PRIMARY_DSN": goodDSN, "REPLICA_DSNS": goodDSN + "," + slashDSN}), slashSecrets, true},
		{"OpenFromEnv/DSNS", env(map[string]string{"DISCOVERY": "true", "DSNS": goodDSN + "," + noAddrDSN}), nil, true},
		{"OpenFromEnv/duplicate", env(map[string]string{"PRIMARY_DSN": noAtDSN, "REPLICA_DSNS": noAtDSN}), nil, true},
		{"OpenFromEnv/other driver", env(map[string]string{"DRIVER": wrapper, "PRIMARY_DSN": noAddrDSN}), nil, true},
		{"Ping/no '@'", call((*rwsplit.DB).PingContext, noAtDSN, strings.Replace(noAtDSN, ":1)", ":2)", 1)), nil, true},
		{"Exec/no '@'", call(exec, noAtDSN), nil, true},
		{"QueryRow/no '@'", call(read, noAtDSN, strings.Replace(noAtDSN, ":1)", ":2)", 1)), nil, true},
		{"version detection/no '@'", call(info, noAtDSN), nil, true},
		{"Health.LastError/no '@'", call(lastError, noAtDSN), nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run(t)
			require.Error(t, err)
			secrets := c.secrets
			if secrets == nil {
				secrets = []string{dsnPassword}
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				for _, s := range secrets {
					assert.NotContains(t, text, s, "the error shows %q: %s", s, text)
				}
			}
			if c.masked {
				assert.Contains(t, err.Error(), "***", "the error quotes the DSN, masked: %v", err)
			}
			t.Logf("%v", err)
		})
	}
}
