package rwsplit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
// the GTIDs of the uuids the writes may have used, when every write the
// capture covers was made on that primary (see compactCapture).
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
	switch {
	case v.gtidAt >= v.writes:
		// The token's GTIDs cover every write already (a capture for the
		// binlog position alone): nothing of the capture's GTIDs to add.
		cap.MySQL, cap.MariaDB = gtid.MySQLSet{}, gtid.MariaDBPos{}
	case uuidChecked && v.onePrimary(v.gtidAt, p, int64(id.serverID)):
		cap = db.compactCapture(cap, p, id.uuid, v.firstPending)
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

// Token compaction. A MySQL cluster's executed set holds the GTIDs of every
// server uuid in its history (one per former primary, per replica written
// by mistake, ...), and a token that carried them all would outgrow a
// cookie. A reader of a session's writes needs only the uuids those writes
// were committed under: the primary's own @@server_uuid for an ordinary
// write, the group name's for a write on Group Replication, any uuid for a
// write under an explicit gtid_next. Which one is not known, so a capture
// keeps every uuid that may have grown while the writes ran: all but those
// whose GTIDs are proven unchanged since before the first of them began.

// uuidStability records, for one primary (srv under serverID), the GTIDs of
// each server uuid as last seen and since when they are known unchanged.
type uuidStability struct {
	srv      *Server
	serverID int64
	parts    map[[16]byte]stablePart
}

// stablePart is one uuid's GTIDs, seen unchanged by every read of the
// primary noted since `since` (the note of the first read that showed
// them: that read's snapshot of the primary was taken before since).
type stablePart struct {
	set   gtid.MySQLSet
	since time.Time
}

// noteStable folds a read of primary p's executed GTIDs (server_id sid),
// noted at now, into the stability record: a uuid whose GTIDs grew starts
// again from now; one whose GTIDs are older than those recorded (a read
// that began earlier and ended later) changes nothing.
func (ts *tokenState) noteStable(p *Server, sid int64, tok gtid.Token, now time.Time) {
	if tok.Flavor != gtid.FlavorMySQL {
		return
	}
	parts := tok.MySQL.ByUUID()
	for {
		old := ts.stable.Load()
		same := old != nil && old.srv == p && old.serverID == sid
		changed := !same || len(old.parts) < len(parts)
		if !changed {
			for _, pt := range parts {
				if cur, ok := old.parts[pt.UUID]; !ok || !cur.set.Contains(pt.Set) {
					changed = true
					break
				}
			}
		}
		if !changed {
			return
		}
		next := &uuidStability{srv: p, serverID: sid, parts: make(map[[16]byte]stablePart, len(parts))}
		if same {
			for u, cur := range old.parts {
				next.parts[u] = cur
			}
		}
		for _, pt := range parts {
			if cur, ok := next.parts[pt.UUID]; ok && cur.set.Contains(pt.Set) {
				continue // unchanged, or an older view of it
			}
			next.parts[pt.UUID] = stablePart{set: pt.Set, since: now}
		}
		if ts.stable.CompareAndSwap(old, next) {
			return
		}
	}
}

// compactCapture keeps of a MySQL capture on primary p what a reader of the
// writes it covers, the first of which began at first, must wait for: the
// GTIDs of p's own uuid, of its Group Replication group, and of every uuid
// not proven unchanged since before first (its GTIDs in the capture equal
// to those of a read of p noted before first). Without such a read every
// uuid is kept. The rest (MariaDB, whose position holds one GTID per
// domain and does not grow with failovers) is kept as it is.
func (db *DB) compactCapture(t gtid.Token, p *Server, uuid string, first time.Time) gtid.Token {
	st := db.tokens().stable.Load()
	if t.Flavor != gtid.FlavorMySQL || first.IsZero() || st == nil || st.srv != p || st.serverID != p.serverID.Load() {
		return t
	}
	own, _ := gtid.ParseUUID(uuid)
	var group [16]byte
	if m := p.member.Load(); m != nil && m.Group != "" {
		group, _ = gtid.ParseUUID(m.Group)
	}
	var drop map[[16]byte]bool
	for _, pt := range t.MySQL.ByUUID() {
		if pt.UUID == own || pt.UUID == group {
			continue
		}
		if base, ok := st.parts[pt.UUID]; ok && base.since.Before(first) && base.set.Equal(pt.Set) {
			if drop == nil {
				drop = make(map[[16]byte]bool)
			}
			drop[pt.UUID] = true
		}
	}
	if drop != nil {
		t.MySQL = t.MySQL.KeepUUIDs(func(u [16]byte) bool { return !drop[u] })
	}
	return t
}
