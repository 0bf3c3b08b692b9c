package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// resolve brings the parts of session s's token that a read needs (its
// GTIDs, its binlog position) up to date with the writes recorded in view v:
// one query on db's primary (two on MariaDB when both parts are needed; one
// more, once per primary, for its identity when the monitor has not read it
// yet). Concurrent readers of one Session share a capture in flight when it
// began after every write they wait for, so a burst of reads after a write
// costs the primary one query. On MySQL the token keeps only the primary's
// own GTIDs when every write the capture covers was made on that primary
// (see compact).
func (db *DB) resolve(ctx context.Context, s *Session, v sessionView, gtids, pos bool) (gtid.Token, error) {
	call, leader := s.join(v.writes, gtids, pos)
	if !leader {
		select {
		case <-call.done:
		case <-ctx.Done():
			return v.tok, ctx.Err()
		}
		if call.err == nil {
			return s.view().tok, nil
		}
		// The shared capture failed (perhaps for its leader's context):
		// this reader tries on its own.
		call = &captureCall{done: make(chan struct{}), at: v.writes, gtids: gtids, pos: pos}
	}
	defer s.leave(call)
	p, err := db.writer()
	if err != nil {
		call.err = err
		return v.tok, err
	}
	cap, id, gotG, gotP, err := db.captureOn(ctx, p, gtids, pos)
	if err != nil {
		call.err = err
		return v.tok, err
	}
	if v.onePrimary(v.gtidAt, p, int64(id.serverID)) {
		cap = compact(cap, id.uuid)
	}
	db.stats.captures.Add(1)
	if h := db.hooks; h != nil && h.afterCapture != nil {
		h.afterCapture()
	}
	t, err := s.resolved(cap, v.writes, gotG, gotP)
	call.err = err
	return t, err
}

// captureOn reads primary p's current position, which covers every write
// completed before it began: its executed GTIDs (MySQL's gtid_executed,
// MariaDB's gtid_binlog_pos) when gtids is set, and its binlog file:position
// when pos is set, the position tagged with p's server_id. It reports which
// parts it read (on MySQL one statement gives both) and p's identity, and
// notes what it read as what p has executed.
func (db *DB) captureOn(ctx context.Context, p *Server, gtids, pos bool) (tok gtid.Token, id primaryIdent, gotGTIDs, gotPos bool, err error) {
	v, err := p.version(ctx)
	if err != nil {
		return tok, id, false, false, err
	}
	id = db.primaryIdentity(ctx, p, v)
	tok, gotGTIDs, gotPos, err = db.readPosition(ctx, p, v, gtids, pos)
	if err != nil {
		return tok, id, false, false, err
	}
	tok.Pos.ServerID = id.serverID
	if tok.Pos.IsZero() {
		tok.Pos = gtid.BinlogPos{}
	}
	db.notePrimaryExecuted(p, tok)
	return tok, id, gotGTIDs, gotPos, nil
}

// readPosition reads p's executed GTIDs and binlog position (see captureOn).
func (db *DB) readPosition(ctx context.Context, p *Server, v *dialect.Version, gtids, pos bool) (tok gtid.Token, gotGTIDs, gotPos bool, err error) {
	if v.Flavor == dialect.MariaDB {
		tok.Flavor = gtid.FlavorMariaDB
		if gtids {
			var s sql.NullString
			if err := scanOne(ctx, p.db, "SELECT @@GLOBAL.gtid_binlog_pos", &s); err != nil {
				return tok, false, false, err
			}
			if tok.MariaDB, err = gtid.ParseMariaDBPos(s.String); err != nil {
				return tok, false, false, fmt.Errorf("rwsplit: capture: %w", err)
			}
		}
		if pos {
			st, err := showRow(ctx, p.db, v.BinlogStatus())
			if err != nil {
				return tok, false, false, err
			}
			if tok.Pos, err = binlogPos(st["File"], st["Position"]); err != nil {
				return tok, false, false, err
			}
		}
		return tok, gtids, pos, nil
	}
	tok.Flavor = gtid.FlavorMySQL
	st, err := showRow(ctx, p.db, v.BinlogStatus())
	set := st["Executed_Gtid_Set"]
	gotPos = err == nil
	if err != nil {
		var me *mysql.MySQLError
		if pos || !errors.As(err, &me) || (me.Number != 1227 && me.Number != 1045) {
			return tok, false, false, err
		}
		// No REPLICATION CLIENT privilege: the GTID set alone.
		var s sql.NullString
		if err := scanOne(ctx, p.db, "SELECT @@GLOBAL.gtid_executed", &s); err != nil {
			return tok, false, false, err
		}
		set = s.String
	} else if tok.Pos, err = binlogPos(st["File"], st["Position"]); err != nil {
		if pos {
			return tok, false, false, err
		}
		gotPos = false
	}
	if tok.MySQL, err = gtid.ParseMySQLSet(set); err != nil {
		return tok, false, false, fmt.Errorf("rwsplit: capture: %w", err)
	}
	return tok, true, gotPos, nil
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
