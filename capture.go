package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rwsplit/rwsplit/internal/dialect"
	"github.com/rwsplit/rwsplit/internal/gtid"
)

// resolve brings the parts of session s's token that a read needs (its
// GTIDs, its binlog position) up to date with the writes recorded in view v:
// one query on db's primary (two on MariaDB when both parts are needed; one
// more, once per primary, for its identity when the monitor has not read it
// yet). The query is shared by every caller on the DB (see sharedRead): a
// read of the primary's position that began after the session's latest write
// returned covers it, whichever session, token clamp or Latest read made it,
// so a burst of reads after a write, or many sessions writing at once, cost
// the primary far fewer queries than writes. On MySQL the token keeps only
// the primary's own GTIDs when every write the capture covers was made on
// that primary (see compact).
func (db *DB) resolve(ctx context.Context, s *Session, v sessionView, gtids, pos bool) (gtid.Token, error) {
	p, err := db.writer()
	if err != nil {
		return v.tok, err
	}
	r, err := db.sharedRead(ctx, p, v.lastWrite, gtids, pos, never, &db.stats.captures)
	if err != nil {
		return v.tok, err
	}
	cap, id := r.tok, r.id
	// A uuid read in the capture's own statement (GTID-only captures on
	// MySQL) that is not the one the DB knew means that another server now
	// answers at the primary's address (a VIP moved): keep the whole set. A
	// GTID-only request keeps it too when the shared read that served it
	// read no uuid (it read the binlog position as well, by SHOW BINARY LOG
	// STATUS): compacting by the uuid the DB knew is what the uuid in the
	// statement guards against.
	uuidChecked := id.fresh != "" && id.fresh == id.uuid || id.fresh == "" && pos
	if uuidChecked && v.onePrimary(v.gtidAt, p, int64(id.serverID)) {
		cap = compact(cap, id.uuid)
	}
	return s.resolved(cap, v.writes, r.gtids, r.pos)
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
	tok, id.fresh, gotGTIDs, gotPos, err = db.readPosition(ctx, p, v, gtids, pos)
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

// readPosition reads p's executed GTIDs and binlog position (see
// captureOn). On MySQL, when no position is asked for, one SELECT reads the
// GTIDs together with @@server_uuid, returned as uuid ("" otherwise).
func (db *DB) readPosition(ctx context.Context, p *Server, v *dialect.Version, gtids, pos bool) (tok gtid.Token, uuid string, gotGTIDs, gotPos bool, err error) {
	if v.Flavor == dialect.MariaDB {
		tok.Flavor = gtid.FlavorMariaDB
		if gtids {
			var s sql.NullString
			if err := scanOne(ctx, p.db, "SELECT @@GLOBAL.gtid_binlog_pos", &s); err != nil {
				return tok, "", false, false, err
			}
			if tok.MariaDB, err = gtid.ParseMariaDBPos(s.String); err != nil {
				return tok, "", false, false, fmt.Errorf("rwsplit: capture: %w", err)
			}
		}
		if pos {
			st, err := showRow(ctx, p.db, v.BinlogStatus())
			if err != nil {
				return tok, "", false, false, err
			}
			if tok.Pos, err = binlogPos(st["File"], st["Position"]); err != nil {
				return tok, "", false, false, err
			}
		}
		return tok, "", gtids, pos, nil
	}
	tok.Flavor = gtid.FlavorMySQL
	if !pos {
		var set, u sql.NullString
		if err := p.db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed, @@server_uuid").Scan(&set, &u); err != nil {
			return tok, "", false, false, err
		}
		if tok.MySQL, err = gtid.ParseMySQLSet(set.String); err != nil {
			return tok, "", false, false, fmt.Errorf("rwsplit: capture: %w", err)
		}
		return tok, u.String, true, false, nil
	}
	st, err := showRow(ctx, p.db, v.BinlogStatus())
	if err != nil {
		return tok, "", false, false, err
	}
	if tok.Pos, err = binlogPos(st["File"], st["Position"]); err != nil {
		return tok, "", false, false, err
	}
	if tok.MySQL, err = gtid.ParseMySQLSet(st["Executed_Gtid_Set"]); err != nil {
		return tok, "", false, false, fmt.Errorf("rwsplit: capture: %w", err)
	}
	return tok, "", true, true, nil
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
