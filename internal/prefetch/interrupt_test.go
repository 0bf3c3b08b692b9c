package prefetch

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A driver that dials through a dial function (as go-sql-driver/mysql's
// Config.DialFunc) and whose query reads one byte from its connection: a
// query blocks until the peer writes, or its I/O is interrupted. It records
// whether a call's context could be watched.
type nconn struct {
	nc      net.Conn
	watched bool
}

func (*nconn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("no") }
func (c *nconn) Close() error                      { return c.nc.Close() }
func (*nconn) Begin() (driver.Tx, error)           { return nil, errors.New("no") }
func (c *nconn) QueryContext(ctx context.Context, _ string, _ []driver.NamedValue) (driver.Rows, error) {
	c.watched = ctx.Done() != nil
	if _, err := c.nc.Read(make([]byte, 1)); err != nil {
		return nil, err
	}
	return &trows{sets: [][]int64{{1}}}, nil
}

type nconnector struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (c nconnector) Connect(ctx context.Context) (driver.Conn, error) {
	nc, err := c.dial(ctx, "pipe", "")
	if err != nil {
		return nil, err
	}
	return &nconn{nc: nc}, nil
}
func (nconnector) Driver() driver.Driver { return nil }

// testInterrupter is an Interrupter as the hedge's attempt context is.
type testInterrupter struct {
	context.Context
	mu  sync.Mutex
	err error
	on  Interruptible
	hit bool
}

func (c *testInterrupter) Err() error { c.mu.Lock(); defer c.mu.Unlock(); return c.err }
func (c *testInterrupter) Bind(i Interruptible) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = i
	return c.err == nil
}
func (c *testInterrupter) Unbind() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = nil
	return c.hit
}
func (c *testInterrupter) Values() context.Context { return c.Context }
func (c *testInterrupter) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = context.Canceled
	if c.on != nil {
		c.on.Interrupt()
		c.hit = true
	}
}

// TestInterrupt: on a connection dialled through Dial, a call under an
// Interrupter gets a context it need not watch, and the Interrupter's end
// interrupts the call's I/O: the call fails with the context's error and the
// connection is not used again.
func TestInterrupt(t *testing.T) {
	peers := make(chan net.Conn, 1)
	dial := func(context.Context, string, string) (net.Conn, error) {
		a, b := net.Pipe()
		peers <- b
		return a, nil
	}
	c := Connector(nconnector{dial: Dial(dial)})
	dc, err := c.Connect(context.Background())
	require.NoError(t, err)
	defer dc.Close()
	peer := <-peers
	defer peer.Close()
	qc := dc.(driver.QueryerContext)

	// Answered: no watch, the connection stays valid.
	it := &testInterrupter{Context: context.Background()}
	var hc HookContext
	hc.Init(context.Background(), func() {})
	hc.SetDriverContext(it)
	go func() { _, _ = peer.Write([]byte{1}) }()
	rows, err := qc.QueryContext(&hc, "q", nil)
	require.NoError(t, err)
	require.NoError(t, rows.Close())
	assert.False(t, dc.(*conn).c.(*nconn).watched, "the driver was given a context to watch")
	assert.True(t, dc.(driver.Validator).IsValid())

	// Interrupted while it waits for the server.
	it = &testInterrupter{Context: context.Background()}
	hc.Init(context.Background(), func() {})
	hc.SetDriverContext(it)
	time.AfterFunc(20*time.Millisecond, it.cancel)
	_, err = qc.QueryContext(&hc, "q", nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, dc.(driver.Validator).IsValid(), "an interrupted connection is used again")
	assert.ErrorIs(t, dc.(driver.SessionResetter).ResetSession(context.Background()), driver.ErrBadConn)

	// Ended before the call: nothing is sent.
	_, err = qc.QueryContext(&hc, "q", nil)
	require.ErrorIs(t, err, context.Canceled)
}

// TestInterruptOutlivesDeadlines: once interrupted, a connection's reads and
// writes fail even after the driver sets a new deadline (go-sql-driver does
// before each read with readTimeout in the DSN), and a read in progress
// ends at once.
func TestInterruptOutlivesDeadlines(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	nc := &netConn{Conn: a}
	done := make(chan error, 1)
	go func() {
		_, err := nc.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond) // the read is in progress
	nc.interrupt()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the read in progress succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read in progress did not end")
	}
	if err := nc.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, errInterrupted) {
		t.Fatalf("read after a new deadline: %v", err)
	}
	if _, err := nc.Write([]byte{1}); !errors.Is(err, errInterrupted) {
		t.Fatalf("write: %v", err)
	}
}
