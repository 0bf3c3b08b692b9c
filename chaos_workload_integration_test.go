package rwsplit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rwsplit/rwsplit"
	hist "github.com/rwsplit/rwsplit/internal/history"
	"github.com/rwsplit/rwsplit/rwsplitx"
)

// The chaos workload: clients on db1 writing their own rows and reading
// theirs and others' under random modes, scopes and surfaces, and consumers
// on db2 reading what tokens handed over through a queue promise.

const (
	chaosReadSQL = "SELECT v, @@server_id AS sid FROM app.chaos WHERE k = ?"
	// chaosWriteSQL's arguments: the value, the value again (the write's
	// identity, which app.chaos_log's trigger appends at each run), the key.
	chaosWriteSQL = "UPDATE app.chaos SET v = GREATEST(v, ?), w = ? WHERE k = ?"
	// chaosOpTimeout bounds every operation: far beyond any fault (a
	// primary is paused 2 s at most), so an operation that hits it failed.
	chaosOpTimeout = 20 * time.Second
)

// chaosRow is a read's result, for sqlx.
type chaosRow struct {
	V   int64 `db:"v"`
	Sid int   `db:"sid"`
}

// chaosReader reads key k's value and the answering @@server_id through one
// surface.
type chaosReader struct {
	name string
	read func(ctx context.Context, k int64) (v int64, sid int, err error)
}

// chaosWriter writes value v to key k through one surface, and returns the
// answering @@server_id when the surface can read it on the same connection,
// and, for a transaction, how many times it was begun (RunTx, or a loop on
// ErrBeginAgain; 0 outside a transaction).
type chaosWriter struct {
	name  string
	write func(ctx context.Context, k, v int64) (sid, begun int, err error)
}

// chaosBeginAgainTries bounds chaosBeginAgain's transactions, as RunTx's.
const chaosBeginAgainTries = 5

// chaosBeginAgain runs run (a whole transaction: begin, statements, commit)
// and begins it again while it fails with rwsplit.ErrBeginAgain (nothing of
// it committed), up to chaosBeginAgainTries times, as docs/failover.md asks
// of a transaction helper that is not RunTx (sqlx's, an ORM's over the
// Connector). A pause of a monitor round lets db1 see the new primary. It
// returns how many times it began the transaction.
func chaosBeginAgain(ctx context.Context, run func() error) (begun int, err error) {
	for begun < chaosBeginAgainTries {
		begun++
		if err = run(); !errors.Is(err, rwsplit.ErrBeginAgain) || ctx.Err() != nil {
			return begun, err
		}
		chaosPause(ctx, 200*time.Millisecond)
	}
	return begun, err
}

// chaosSurfaces are the ways into one *rwsplit.DB.
type chaosSurfaces struct {
	db                  *rwsplit.DB
	x                   *rwsplitx.DB
	readStmt, writeStmt *rwsplit.Stmt
	readers             []chaosReader
	writers             []chaosWriter
	closeConnector      func() error
}

// newChaosSurfaces prepares the shared statements and lists the surfaces.
func newChaosSurfaces(ctx context.Context, db *rwsplit.DB) (*chaosSurfaces, error) {
	s := &chaosSurfaces{db: db, x: rwsplitx.NewDB(db, "mysql")}
	var err error
	if s.readStmt, err = db.PrepareContext(ctx, chaosReadSQL); err != nil {
		return nil, err
	}
	if s.writeStmt, err = db.PrepareContext(ctx, chaosWriteSQL); err != nil {
		_ = s.readStmt.Close()
		return nil, err
	}
	x := s.x
	scanRow := func(row *sql.Row) (int64, int, error) {
		var r chaosRow
		err := row.Scan(&r.V, &r.Sid)
		return r.V, r.Sid, err
	}
	scanRows := func(rows *sql.Rows, err error) (int64, int, error) {
		if err != nil {
			return 0, 0, err
		}
		defer rows.Close()
		var r chaosRow
		n := 0
		for rows.Next() {
			if err := rows.Scan(&r.V, &r.Sid); err != nil {
				return 0, 0, err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return 0, 0, err
		}
		if n != 1 {
			return 0, 0, fmt.Errorf("%d rows, want 1", n)
		}
		return r.V, r.Sid, rows.Close()
	}
	inTx := func(ctx context.Context, opts *sql.TxOptions, k int64) (int64, int, error) {
		tx, err := db.BeginTx(ctx, opts)
		if err != nil {
			return 0, 0, err
		}
		v, sid, err := scanRow(tx.QueryRowContext(ctx, chaosReadSQL, k))
		if err != nil {
			_ = tx.Rollback()
			return 0, 0, err
		}
		return v, sid, tx.Commit()
	}
	s.readers = []chaosReader{
		{"DB.QueryRow", func(ctx context.Context, k int64) (int64, int, error) {
			return scanRow(db.QueryRowContext(ctx, chaosReadSQL, k))
		}},
		{"DB.Query", func(ctx context.Context, k int64) (int64, int, error) {
			return scanRows(db.QueryContext(ctx, chaosReadSQL, k))
		}},
		{"Stmt.QueryRow", func(ctx context.Context, k int64) (int64, int, error) {
			return scanRow(s.readStmt.QueryRowContext(ctx, k))
		}},
		{"Stmt.Query", func(ctx context.Context, k int64) (int64, int, error) {
			return scanRows(s.readStmt.QueryContext(ctx, k))
		}},
		{"Tx.ReadOnly", func(ctx context.Context, k int64) (int64, int, error) {
			return inTx(ctx, &sql.TxOptions{ReadOnly: true}, k)
		}},
		{"Tx.ReadWrite", func(ctx context.Context, k int64) (int64, int, error) {
			return inTx(ctx, nil, k)
		}},
		{"Conn.QueryRow", func(ctx context.Context, k int64) (int64, int, error) {
			conn, err := db.Conn(ctx)
			if err != nil {
				return 0, 0, err
			}
			defer conn.Close()
			return scanRow(conn.QueryRowContext(ctx, chaosReadSQL, k))
		}},
		{"rwsplitx.Get", func(ctx context.Context, k int64) (int64, int, error) {
			var r chaosRow
			err := x.GetContext(ctx, &r, chaosReadSQL, k)
			return r.V, r.Sid, err
		}},
		{"rwsplitx.QueryRowx", func(ctx context.Context, k int64) (int64, int, error) {
			var r chaosRow
			err := x.QueryRowxContext(ctx, chaosReadSQL, k).StructScan(&r)
			return r.V, r.Sid, err
		}},
		{"rwsplitx.Tx.ReadOnly", func(ctx context.Context, k int64) (int64, int, error) {
			tx, err := x.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
			if err != nil {
				return 0, 0, err
			}
			var r chaosRow
			if err := tx.GetContext(ctx, &r, chaosReadSQL, k); err != nil {
				_ = tx.Rollback()
				return 0, 0, err
			}
			return r.V, r.Sid, tx.Commit()
		}},
	}

	serverID := func(row *sql.Row) (int, error) {
		var sid int
		return sid, row.Scan(&sid)
	}
	// Conn writers run once: a Conn on a fenced primary returns
	// ErrBeginAgain (the write not run), recorded as such.
	s.writers = []chaosWriter{
		{"DB.Exec", func(ctx context.Context, k, v int64) (int, int, error) {
			_, err := db.ExecContext(ctx, chaosWriteSQL, v, v, k)
			return 0, 0, err
		}},
		{"Stmt.Exec", func(ctx context.Context, k, v int64) (int, int, error) {
			_, err := s.writeStmt.ExecContext(ctx, v, v, k)
			return 0, 0, err
		}},
		{"Tx.Commit", func(ctx context.Context, k, v int64) (int, int, error) {
			// RunTx begins it again when a change of primary cut it off.
			var sid, begun int
			err := db.RunTx(ctx, nil, func(tx *rwsplit.Tx) error {
				begun++
				if _, err := tx.ExecContext(ctx, chaosWriteSQL, v, v, k); err != nil {
					return err
				}
				var err error
				sid, err = serverID(tx.QueryRowContext(ctx, "SELECT @@server_id"))
				return err
			})
			return sid, begun, err
		}},
		{"Conn.Exec", func(ctx context.Context, k, v int64) (int, int, error) {
			conn, err := db.Conn(ctx)
			if err != nil {
				return 0, 0, err
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, chaosWriteSQL, v, v, k); err != nil {
				return 0, 0, err
			}
			sid, _ := serverID(conn.QueryRowContext(ctx, "SELECT @@server_id")) // the write is done
			return sid, 0, nil
		}},
		{"Conn.Stmt.Exec", func(ctx context.Context, k, v int64) (int, int, error) {
			conn, err := db.Conn(ctx)
			if err != nil {
				return 0, 0, err
			}
			defer conn.Close()
			st, err := conn.PrepareContext(ctx, chaosWriteSQL)
			if err != nil {
				return 0, 0, err
			}
			defer st.Close()
			_, err = st.ExecContext(ctx, v, v, k)
			return 0, 0, err
		}},
		{"rwsplitx.NamedExec", func(ctx context.Context, k, v int64) (int, int, error) {
			_, err := x.NamedExecContext(ctx, "UPDATE app.chaos SET v = GREATEST(v, :v), w = :v WHERE k = :k",
				map[string]any{"k": k, "v": v})
			return 0, 0, err
		}},
		{"rwsplitx.Tx.Commit", func(ctx context.Context, k, v int64) (int, int, error) {
			var sid int
			begun, err := chaosBeginAgain(ctx, func() error {
				tx, err := x.BeginTxx(ctx, nil)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, chaosWriteSQL, v, v, k); err != nil {
					_ = tx.Rollback()
					return err
				}
				if err := tx.GetContext(ctx, &sid, "SELECT @@server_id"); err != nil {
					_ = tx.Rollback()
					return err
				}
				return tx.Commit()
			})
			return sid, begun, err
		}},
	}
	cr, cw, closeConnector, err := chaosConnectorSurfaces(ctx, db)
	if err != nil {
		return nil, errors.Join(err, s.readStmt.Close(), s.writeStmt.Close())
	}
	s.readers, s.writers, s.closeConnector = append(s.readers, cr...), append(s.writers, cw...), closeConnector
	return s, nil
}

// close closes the shared statements and the Connector's *sql.DB.
func (s *chaosSurfaces) close() error {
	return errors.Join(s.closeConnector(), s.readStmt.Close(), s.writeStmt.Close())
}

// chaosMsg is a queue message: a token taken after a session write, the key
// written and the value the token covers.
type chaosMsg struct {
	tok      string
	key      int64
	min      int64
	producer int
}

// chaosModeWeight is one entry of a mode mix.
type chaosModeWeight struct {
	weight int
	kind   hist.ModeKind
	ds     []time.Duration // one is chosen at random (Sleep's delay, a wait's timeout)
}

// chaosModes is the mode mix of the history run: every mode, timeouts from
// a few milliseconds (waits that time out and fall back to the primary) to
// seconds.
var chaosModes = []chaosModeWeight{
	{22, hist.Eventual, nil},
	{10, hist.Primary, nil},
	{12, hist.Sleep, []time.Duration{100 * time.Millisecond, 400 * time.Millisecond, 1200 * time.Millisecond, 1500 * time.Millisecond}},
	{8, hist.CaughtUp, []time.Duration{50 * time.Millisecond, 500 * time.Millisecond}},
	{20, hist.WaitPosition, []time.Duration{30 * time.Millisecond, 300 * time.Millisecond, 2 * time.Second}},
	{28, hist.WaitGTID, []time.Duration{30 * time.Millisecond, 300 * time.Millisecond, 2 * time.Second}},
	{8, hist.Fast, nil},
	{8, hist.Latest, []time.Duration{30 * time.Millisecond, 500 * time.Millisecond}},
	{8, hist.Monotonic, []time.Duration{30 * time.Millisecond, 500 * time.Millisecond}},
	{6, hist.MaxStaleness, []time.Duration{time.Second, 3 * time.Second}},
}

// chaosWaitingModes is the mix of the broken run: only the modes that
// promise read-your-writes by waiting.
var chaosWaitingModes = []chaosModeWeight{
	{50, hist.WaitPosition, []time.Duration{300 * time.Millisecond, 2 * time.Second}},
	{50, hist.WaitGTID, []time.Duration{300 * time.Millisecond, 2 * time.Second}},
}

func chaosPickMode(rng *rand.Rand, mix []chaosModeWeight) hist.Mode {
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	n := rng.IntN(total)
	for _, m := range mix {
		if n < m.weight {
			md := hist.Mode{Kind: m.kind}
			if len(m.ds) > 0 {
				md.Duration = m.ds[rng.IntN(len(m.ds))]
			}
			return md
		}
		n -= m.weight
	}
	panic("unreachable")
}

// chaosLoad runs the clients and the consumers of one run.
type chaosLoad struct {
	h        *hist.History
	s1, s2   *chaosSurfaces
	clients  int
	modes    []chaosModeWeight
	seed     uint64
	next     atomic.Int64 // the next value to write: strictly increasing
	queue    chan chaosMsg
	advanceQ chan chaosMsg
	stop     chan struct{}

	tokensSent, tokensDropped atomic.Int64
}

// run starts the clients and the consumers and returns a function that
// stops them and waits until they are done.
func (l *chaosLoad) run(consumers int) (stop func()) {
	l.queue = make(chan chaosMsg, 64)
	l.advanceQ = make(chan chaosMsg, 64)
	l.stop = make(chan struct{})
	var clients, cons sync.WaitGroup
	for i := range l.clients {
		clients.Add(1)
		go func() {
			defer clients.Done()
			l.client(i, rand.New(rand.NewPCG(l.seed, uint64(i))))
		}()
	}
	for i := range consumers {
		cons.Add(1)
		go func() {
			defer cons.Done()
			l.consumer(l.clients+i, rand.New(rand.NewPCG(l.seed, uint64(1000+i))))
		}()
	}
	return func() {
		close(l.stop)
		clients.Wait()
		close(l.queue)
		cons.Wait()
	}
}

func (l *chaosLoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// client is one client of db1: it owns keys id*hist.KeysPerClient and the
// next ones (hist.KeyOwner), and one Session for its whole life.
func (l *chaosLoad) client(id int, rng *rand.Rand) {
	sess := rwsplit.NewSession(rwsplit.Token{})
	base := int64(id * hist.KeysPerClient)
	for !l.stopped() {
		time.Sleep(time.Duration(rng.IntN(10)) * time.Millisecond)
		switch p := rng.IntN(100); {
		case p < 30:
			j := rng.IntN(hist.KeysPerClient)
			l.write(id, sess, base+int64(j), j < hist.SessionKeys, rng)
		case p < 34 && l.advance(id, sess, rng):
		case p < 88:
			l.read(id, sess, base+int64(rng.IntN(hist.KeysPerClient)), rng)
		default:
			l.read(id, sess, int64(rng.IntN(l.clients*hist.KeysPerClient)), rng)
		}
	}
}

// write writes the next value to key k, through sess when withSession, and
// sometimes hands the session's token on: to a consumer of db2, or to
// another client, which advances its own Session with it.
func (l *chaosLoad) write(id int, sess *rwsplit.Session, k int64, withSession bool, rng *rand.Rand) {
	ctx, cancel := context.WithTimeout(context.Background(), chaosOpTimeout)
	defer cancel()
	op := &hist.Op{Kind: hist.OpWrite, Client: id, DB: 1, Scope: hist.InProcess, Session: -1, Key: k}
	if withSession {
		ctx = rwsplit.WithSession(ctx, sess)
		op.Scope, op.Session = hist.InSession, id
	}
	// Writes are recorded whatever mode their context carries.
	op.Mode = chaosPickMode(rng, l.modes)
	ctx = rwsplit.WithConsistency(ctx, op.Mode.Consistency())
	w := l.s1.writers[rng.IntN(len(l.s1.writers))]
	op.Surface = w.name
	op.Value = l.next.Add(1)
	op.Start = time.Now()
	op.Server, op.Begun, op.Err = w.write(ctx, k, op.Value)
	op.End = time.Now()
	l.h.Add(op)
	if !withSession || op.Err != nil || rng.IntN(100) >= 25 {
		return
	}
	top := &hist.Op{Kind: hist.OpToken, Client: id, DB: 1, Scope: hist.InSession, Session: id, Surface: "Session.TokenContext",
		Key: k, Value: op.Value, Producer: op.ID, Start: time.Now()}
	tok, err := sess.TokenContext(ctx)
	top.End, top.Err = time.Now(), err
	l.h.Add(top)
	if err != nil {
		return
	}
	m := chaosMsg{tok: tok.String(), key: k, min: op.Value, producer: op.ID}
	q := l.queue
	if rng.IntN(100) < 30 {
		q = l.advanceQ
	}
	select {
	case q <- m:
		l.tokensSent.Add(1)
	default:
		l.tokensDropped.Add(1)
	}
}

// advance takes a token another client handed over, if one waits, advances
// sess with it and reads the key it covers under a waiting mode. It reports
// whether there was one.
func (l *chaosLoad) advance(id int, sess *rwsplit.Session, rng *rand.Rand) bool {
	var m chaosMsg
	select {
	case m = <-l.advanceQ:
	default:
		return false
	}
	op := &hist.Op{Kind: hist.OpAdvance, Client: id, DB: 1, Scope: hist.InSession, Session: id, Surface: "Session.Advance",
		Key: m.key, Value: m.min, Producer: m.producer, Start: time.Now()}
	tok, err := rwsplit.ParseToken(m.tok)
	if err == nil {
		err = sess.Advance(tok)
	}
	op.End, op.Err = time.Now(), err
	l.h.Add(op)
	mode := chaosPickMode(rng, chaosWaitingModes)
	l.readWith(id, sess, m.key, mode, true, rng)
	return true
}

// read reads key k under a random mode, in the client's Session or in the
// process scope.
func (l *chaosLoad) read(id int, sess *rwsplit.Session, k int64, rng *rand.Rand) {
	l.readWith(id, sess, k, chaosPickMode(rng, l.modes), rng.IntN(2) == 0, rng)
}

func (l *chaosLoad) readWith(id int, sess *rwsplit.Session, k int64, mode hist.Mode, withSession bool, rng *rand.Rand) {
	ctx, cancel := context.WithTimeout(context.Background(), chaosOpTimeout)
	defer cancel()
	op := &hist.Op{Kind: hist.OpRead, Client: id, DB: 1, Scope: hist.InProcess, Session: -1, Key: k, Mode: mode}
	if withSession {
		ctx = rwsplit.WithSession(ctx, sess)
		op.Scope, op.Session = hist.InSession, id
	}
	if mode.Kind == hist.Eventual && rng.IntN(3) == 0 {
		op.Mode.Default = true // db1's default is Eventual
	} else {
		ctx = rwsplit.WithConsistency(ctx, mode.Consistency())
	}
	r := l.s1.readers[rng.IntN(len(l.s1.readers))]
	op.Surface = r.name
	op.Start = time.Now()
	op.Value, op.Server, op.Err = r.read(ctx, k)
	op.End = time.Now()
	l.h.Add(op)
}

// consumer is a service reading with db2 what the tokens in the queue
// promise: it resumes each token in a new Session and reads the key under a
// waiting mode (or db2's default, WaitGTID(2s)).
func (l *chaosLoad) consumer(id int, rng *rand.Rand) {
	for m := range l.queue {
		if d := rng.IntN(30); d > 10 {
			time.Sleep(time.Duration(d-10) * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), chaosOpTimeout)
		op := &hist.Op{Kind: hist.OpRead, Client: id, DB: 2, Scope: hist.InToken, Session: m.producer, Key: m.key,
			Min: m.min, Producer: m.producer}
		if rng.IntN(3) == 0 {
			op.Mode = hist.Mode{Kind: hist.WaitGTID, Duration: chaosDB2Default, Default: true}
		} else {
			op.Mode = chaosPickMode(rng, chaosWaitingModes)
			ctx = rwsplit.WithConsistency(ctx, op.Mode.Consistency())
		}
		r := l.s2.readers[rng.IntN(len(l.s2.readers))]
		op.Surface = r.name
		op.Start = time.Now()
		tok, err := rwsplit.ParseToken(m.tok)
		if err != nil {
			op.Surface, op.Err = "ParseToken", err
		} else {
			ctx = rwsplit.WithSession(ctx, rwsplit.NewSession(tok))
			op.Value, op.Server, op.Err = r.read(ctx, m.key)
		}
		op.End = time.Now()
		cancel()
		l.h.Add(op)
	}
}

// chaosDB2Default is db2's default consistency's timeout (WaitGTID).
const chaosDB2Default = 2 * time.Second
