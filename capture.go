package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// querier is what capture needs of a pool, a pinned connection or a tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scope is the session a call's writes advance and its reads wait for: the
// context's Session, or the DB-wide one (process scope).
func (db *DB) scope(ctx context.Context) *Session {
	if s := SessionFrom(ctx); s != nil {
		return s
	}
	return db.last
}

// needsToken reports whether a write through ctx must capture its position:
// a Session is attached, or a waiting mode may read after it.
func (db *DB) needsToken(ctx context.Context) bool {
	if SessionFrom(ctx) != nil || db.tracking.Load() {
		return true
	}
	return db.consistency(ctx).waitsForToken()
}

// afterWrite records a successful write made through ctx. q, when not nil,
// is the connection the write ran on (MariaDB's @@last_gtid is exact there);
// otherwise the primary's current position, which covers the write, is read.
func (db *DB) afterWrite(ctx context.Context, q querier) {
	s := db.scope(ctx)
	now := time.Now()
	if !db.needsToken(ctx) {
		s.touch(now)
		return
	}
	exact := q != nil
	if q == nil {
		q = db.primaryServer().db
	}
	tok, err := db.capture(ctx, q, exact, db.consistency(ctx).kind == kindWaitPosition)
	if err == nil {
		tok.Time = now.UnixMilli()
		err = s.advance(tok)
	}
	if err != nil {
		// The write stands; the next waiting read of this scope reads the
		// primary's position first.
		s.markPending(now)
		return
	}
	db.stats.captures.Add(1)
}

// capture reads what a reader must wait for to see the writes made so far:
// with exact, the last GTID of the connection q (MariaDB); otherwise the
// primary's executed GTID set (MySQL) or binlog GTID position (MariaDB),
// which contain the write. With wantPos it reads the binlog file:position
// too (on MySQL the same statement gives both).
func (db *DB) capture(ctx context.Context, q querier, exact, wantPos bool) (gtid.Token, error) {
	v, err := db.primaryServer().version(ctx)
	if err != nil {
		return gtid.Token{}, err
	}
	switch v.Flavor {
	case dialect.MariaDB:
		tok := gtid.Token{Flavor: gtid.FlavorMariaDB}
		if wantPos {
			st, err := showRow(ctx, q, v.BinlogStatus())
			if err != nil {
				return tok, err
			}
			if tok.Pos, err = binlogPos(st["File"], st["Position"]); err != nil {
				return tok, err
			}
			return tok, nil
		}
		query := "SELECT @@GLOBAL.gtid_binlog_pos"
		if exact {
			query = "SELECT @@last_gtid"
		}
		var pos sql.NullString
		if err := scanOne(ctx, q, query, &pos); err != nil {
			return tok, err
		}
		if tok.MariaDB, err = gtid.ParseMariaDBPos(pos.String); err != nil {
			return tok, fmt.Errorf("rwsplit: capture: %w", err)
		}
		return tok, nil
	default:
		tok := gtid.Token{Flavor: gtid.FlavorMySQL}
		st, err := showRow(ctx, q, v.BinlogStatus())
		set := st["Executed_Gtid_Set"]
		if err != nil {
			var me *mysql.MySQLError
			if wantPos || !errors.As(err, &me) || (me.Number != 1227 && me.Number != 1045) {
				return tok, err
			}
			// No REPLICATION CLIENT privilege: the GTID set alone.
			var s sql.NullString
			if err := scanOne(ctx, q, "SELECT @@GLOBAL.gtid_executed", &s); err != nil {
				return tok, err
			}
			set = s.String
		} else if tok.Pos, err = binlogPos(st["File"], st["Position"]); err != nil {
			return tok, err
		}
		if tok.MySQL, err = gtid.ParseMySQLSet(set); err != nil {
			return tok, fmt.Errorf("rwsplit: capture: %w", err)
		}
		return tok, nil
	}
}

func binlogPos(file, pos string) (gtid.BinlogPos, error) {
	if file == "" {
		return gtid.BinlogPos{}, errors.New("rwsplit: capture: binary logging is off on the primary")
	}
	p, err := gtid.ParseBinlogPos(file + ":" + pos)
	if err != nil {
		return p, fmt.Errorf("rwsplit: capture: %w", err)
	}
	return p, nil
}

func scanOne(ctx context.Context, q querier, query string, dest any) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("rwsplit: %s: no row", query)
	}
	if err := rows.Scan(dest); err != nil {
		return err
	}
	return rows.Close()
}

// statusRow is one row of a SHOW statement, by column name.
type statusRow map[string]string

// get returns the first of the named columns the row has (MySQL's new
// names and MariaDB's old ones), or "".
func (r statusRow) get(names ...string) string {
	for _, n := range names {
		if v, ok := r[n]; ok {
			return v
		}
	}
	return ""
}

// showRow runs a SHOW statement and returns its first row by column name
// (an empty row when it returns none, as SHOW REPLICA STATUS on a primary).
func showRow(ctx context.Context, q querier, query string) (statusRow, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	st := make(statusRow, len(cols))
	if !rows.Next() {
		return st, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	for i, c := range cols {
		st[c] = vals[i].String
	}
	return st, rows.Close()
}
