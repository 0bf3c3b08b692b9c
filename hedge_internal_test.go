package rwsplit

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/fakedb"
	"github.com/rwsplit/rwsplit/internal/prefetch"
)

// hedgeTestDB returns a DB over a fresh two-replica cluster whose pools read
// ahead (known from the start, as Open's), once the monitor's first round has run (it would otherwise replace
// what a test says the replicas applied).
func hedgeTestDB(t *testing.T, f dialect.Flavor, opts ...Option) (*DB, *fakedb.Cluster) {
	t.Helper()
	cl := fakedb.NewCluster(f, 2)
	pool := func(s *fakedb.Server) *sql.DB { return sql.OpenDB(prefetch.Connector(s.Connector(false))) }
	db, err := New(pool(cl.Primary()), []*sql.DB{pool(cl.Replicas()[0]), pool(cl.Replicas()[1])},
		append([]Option{WithMonitorInterval(time.Hour), func(o *options) error { o.readAhead = true; return nil }}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.Eventually(t, func() bool {
		for _, st := range ReplicaStatus(db) {
			if st.LastCheck.IsZero() {
				return false
			}
		}
		return true
	}, 5*time.Second, 5*time.Millisecond)
	return db, cl
}

// TestHedgeTargetRule: where the hedge of a read that replica 0 has not
// answered goes, for each consistency mode, never to a server that could
// weaken the mode's guarantee.
func TestHedgeTargetRule(t *testing.T) {
	type setup struct {
		mode        Consistency
		noFallback  bool
		suspect1    bool // replica 1 out of rotation
		exclude1    bool // replica 1 failed earlier in this call (a retry)
		noAhead1    bool // replica 1's pool does not read ahead
		pending     bool // a write whose position was not read yet
		applied1    bool // replica 1 is known to have applied the scope's writes
		gtids1      bool // replica 1 is known to have applied their GTIDs (only)
		wantMariaDB string
		noRows      bool // a BEGIN: read-ahead does not matter
		want        string
		description string
	}
	cases := []setup{
		{mode: Eventual, want: "replica 1", description: "another usable replica"},
		{mode: Sleep(time.Millisecond), want: "replica 1", description: "Sleep's sleep is over"},
		{mode: Eventual, suspect1: true, want: "primary", description: "no other replica: the primary"},
		{mode: Eventual, suspect1: true, noFallback: true, want: "", description: "WithPrimaryFallback(false)"},
		{mode: Eventual, exclude1: true, want: "primary", description: "not the server a retry left"},
		{mode: Eventual, noAhead1: true, want: "primary", description: "rows need a pool that reads ahead"},
		{mode: Eventual, noAhead1: true, noRows: true, want: "replica 1", description: "a BEGIN does not"},
		{mode: Primary, want: "", description: "never hedged"},
		{mode: CaughtUp(time.Second), want: "primary", description: "caught up: only the primary is sure"},
		{mode: CaughtUp(time.Second).OrFail(), want: "", description: "OrFail protects the primary"},
		{mode: CaughtUp(time.Second), noFallback: true, want: "", description: "so does WithPrimaryFallback(false)"},
		{mode: WaitGTID(time.Second), pending: true, applied1: true, want: "primary", description: "a pending write: only the primary"},
		{mode: WaitGTID(time.Second), want: "primary", description: "replica 1 is stale"},
		{mode: WaitGTID(time.Second), applied1: true, want: "replica 1", description: "replica 1 has applied the token"},
		{mode: WaitGTID(time.Second).OrFail(), want: "", description: "stale replica 1, OrFail"},
		{mode: WaitGTID(time.Second).OrFail(), applied1: true, want: "replica 1", description: "fresh replica 1, OrFail"},
		{mode: WaitPosition(time.Second), want: "primary", description: "replica 1 is stale"},
		{mode: WaitPosition(time.Second), applied1: true, want: "replica 1", description: "replica 1 has applied the position"},
		{mode: WaitPosition(time.Second), pending: true, applied1: true, want: "primary", description: "a pending write"},
		{mode: WaitPosition(time.Second), gtids1: true, want: "replica 1", wantMariaDB: "primary",
			description: "replica 1 has applied the GTIDs read with the position (MySQL, gtid_mode ON)"},
	}
	for _, f := range []dialect.Flavor{fakedb.MySQL, fakedb.MariaDB} {
		for _, c := range cases {
			t.Run(f.String()+"/"+c.mode.String()+"/"+c.description, func(t *testing.T) {
				var opts []Option
				if c.noFallback {
					opts = append(opts, WithPrimaryFallback(false))
				}
				db, _ := hedgeTestDB(t, f, opts...)
				r0, r1 := ReplicaServers(db)[0], ReplicaServers(db)[1]
				ctx := WithConsistency(context.Background(), c.mode)
				if c.mode.kind == kindWaitGTID || c.mode.kind == kindWaitPosition {
					_, err := db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (1, 1)")
					require.NoError(t, err)
					_, err = db.process.TokenContext(ctx) // reads the write's position
					require.NoError(t, err)
					if c.applied1 {
						r1.learn(db.process.view().tok.WaitTarget(c.mode.kind == kindWaitGTID))
					}
					if c.gtids1 {
						r1.learn(db.process.view().tok.WaitTarget(true))
					}
					if c.pending {
						_, err := db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (2, 2)")
						require.NoError(t, err)
					}
				}
				if c.suspect1 {
					db.markSuspect(r1, errors.New("test"))
				}
				if c.exclude1 {
					ctx = withoutServer(ctx, r1, nil)
				}
				if c.noAhead1 {
					r1.readsAhead.Store(false)
					r1.noReadAhead.Store(true)
				}
				got := db.hedgeTarget(ctx, r0, !c.noRows)
				name := ""
				if got != nil {
					name = got.Name()
				}
				want := c.want
				if f == fakedb.MariaDB && c.wantMariaDB != "" {
					want = c.wantMariaDB
				}
				assert.Equal(t, want, name)
			})
		}
	}
}

// TestHedgeBoundEstimate: the bound follows the smoothed latency plus four
// deviations, within floor and ceiling; the ceiling before any sample.
func TestHedgeBoundEstimate(t *testing.T) {
	var h hedger
	assert.Equal(t, defaultHedgeCeiling, h.bound(), "the ceiling before any sample")
	for range 100 {
		h.observe(time.Millisecond)
	}
	assert.Equal(t, defaultHedgeFloor, h.bound(), "fast answers: the floor")
	for range 100 {
		h.observe(5 * time.Second)
	}
	assert.Equal(t, defaultHedgeCeiling, h.bound(), "slow answers: the ceiling")
	cfg := hedgeConfig{floor: time.Millisecond, ceiling: time.Hour}
	h.cfg.Store(&cfg)
	var g hedger
	g.cfg.Store(&cfg)
	for i := range 200 {
		g.observe(time.Duration(100+i%2*20) * time.Millisecond) // 100 and 120 ms
	}
	b := g.bound()
	assert.Greater(t, b, 110*time.Millisecond)
	assert.Less(t, b, 200*time.Millisecond, "srtt ≈ 110 ms, rttvar ≈ 10 ms")
	t.Logf("bound over samples of 100 and 120 ms: %v", b)
}

// TestIsAnswer: a server's own error is an answer; a lost connection or a
// context's end is not.
func TestIsAnswer(t *testing.T) {
	assert.True(t, isAnswer(nil))
	assert.True(t, isAnswer(&mysql.MySQLError{Number: 1146, Message: "Table 't' doesn't exist"}))
	assert.False(t, isAnswer(context.Canceled))
	assert.False(t, isAnswer(context.DeadlineExceeded))
	assert.False(t, isAnswer(prefetch.ErrConnLost))
	assert.False(t, isAnswer(errors.New("some driver error")))
}

// lastBalancer picks the last candidate.
type lastBalancer struct{}

func (lastBalancer) Pick(c []*Server) *Server { return c[len(c)-1] }

// TestHedgeFireRule: when its timer fires, a race hedges only if it is on
// time and the server has answered nothing for a bound; a late timer (this
// process stalled) or a recent answer makes it look again later.
func TestHedgeFireRule(t *testing.T) {
	db, _ := hedgeTestDB(t, fakedb.MySQL, WithBalancer(lastBalancer{}))
	r0 := ReplicaServers(db)[0]
	const bound = 30 * time.Millisecond
	q, args := "SELECT v FROM kv WHERE k = ?", []any{int64(1)}
	rc := &race[*sql.Row, rowOp]{db: db, ctx: context.Background(), bound: bound, sample: true,
		op: rowOp{run: dbRunner{}, q: q, plain: q, args: args, pargs: args}}
	rc.prepare(&rc.first, r0)
	rc.timer = time.AfterFunc(time.Hour, func() {}) // fire is called by hand
	defer rc.timer.Stop()
	long := time.Now().Add(-time.Second)
	rc.since = long

	rc.due = long // a second late
	rc.fire()
	assert.Nil(t, rc.second, "hedged on a late timer")
	assert.WithinDuration(t, time.Now().Add(bound), rc.due, bound/2, "looks again a bound later")

	r0.lastAnswer.Store(time.Now().Add(-bound / 3).UnixNano())
	rc.due = time.Now()
	rc.fire()
	assert.Nil(t, rc.second, "hedged although the server answered within the bound")

	r0.lastAnswer.Store(long.UnixNano())
	rc.due = time.Now()
	rc.fire()
	require.NotNil(t, rc.second, "not hedged: on time, and the server silent for a bound")
	assert.Equal(t, "replica 1", rc.second.s.Name())
	assert.EqualValues(t, 1, db.Stats().Hedges)

	rc.first.err = context.Canceled // as the hedge's win made it
	w := rc.finish()
	assert.Same(t, rc.second, w)
	var v int64
	assert.ErrorIs(t, w.v.Scan(&v), sql.ErrNoRows)
	assert.True(t, ReplicaStatus(db)[0].Suspect)
}

// TestHedgeFinishAfterALostConnection: a first attempt whose connection
// failed (no answer) takes the hedge in flight if it answers within a
// bound, else gives up on it and returns its own error (for the caller's
// retry elsewhere), the hedge discarding itself when it ends.
func TestHedgeFinishAfterALostConnection(t *testing.T) {
	db, _ := hedgeTestDB(t, fakedb.MariaDB)
	r0, r1 := ReplicaServers(db)[0], ReplicaServers(db)[1]
	const bound = 200 * time.Millisecond
	newRace := func() *race[*sql.Rows, rowsOp] {
		q, args := "SELECT v FROM kv WHERE k = ?", []any{int64(1)}
		rc := &race[*sql.Rows, rowsOp]{db: db, ctx: context.Background(), bound: bound,
			op: rowsOp{run: dbRunner{}, q: q, plain: q, args: args, pargs: args}}
		rc.prepare(&rc.first, r0)
		rc.first.err = driver.ErrBadConn
		rc.timer = time.AfterFunc(time.Hour, func() {})
		b := &attempt[*sql.Rows]{}
		rc.prepare(b, r1)
		rc.second, rc.done = b, make(chan struct{})
		return rc
	}
	answer := func(rc *race[*sql.Rows, rowsOp], after time.Duration) {
		time.Sleep(after)
		b := rc.second
		rc.run(b, true)
		rc.mu.Lock()
		rc.secondDone = true
		abandoned := rc.abandoned
		rc.mu.Unlock()
		close(rc.done)
		if abandoned {
			rc.drop(b)
		}
	}

	rc := newRace()
	go answer(rc, bound/10)
	w := rc.finish()
	require.Same(t, rc.second, w, "the hedge answered within the bound")
	require.NoError(t, w.err)
	require.NoError(t, w.v.Close())
	assert.True(t, ReplicaStatus(db)[0].Suspect, "the replica whose connection failed")

	rc = newRace()
	done := make(chan struct{})
	go func() { defer close(done); answer(rc, 2*bound) }()
	start := time.Now()
	w = rc.finish()
	assert.Same(t, &rc.first, w, "waited past the bound")
	assert.ErrorIs(t, w.err, driver.ErrBadConn)
	assert.Less(t, time.Since(start), 2*bound)
	<-done
	assert.True(t, rc.abandoned)
	assert.Eventually(t, func() bool { return r1.DB().Stats().InUse == 0 }, 5*time.Second, time.Millisecond,
		"the abandoned hedge kept its connection")
}
