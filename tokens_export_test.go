package rwsplit

// Test-only access to token safety internals (tokenkey.go, clamp.go) for
// the external test package.

// TokenClamps is how many wait targets db cut down to what its primary had.
func TokenClamps(db *DB) uint64 { return db.tokens().clamps.Load() }

// TokenChecks is how many times db read its primary's executed set to check
// a wait target.
func TokenChecks(db *DB) uint64 { return db.tokens().checks.Load() }

// SetSourceID sets what the monitor saw as s's source server_id.
func SetSourceID(s *Server, id int64) { s.sourceID.Store(id) }

// ServerIDOf is s's server_id as last recorded (0: unknown).
func ServerIDOf(s *Server) int64 { return s.serverID.Load() }

// WithTime returns t with its time set to ms (unix milliseconds), unclamped.
func WithTime(t Token, ms int64) Token {
	t.t.Time = ms
	return t
}

// PosServerID is the server_id t's binlog position names (0: unknown).
func PosServerID(t Token) uint32 { return t.t.Pos.ServerID }

// TokenUUIDs is how many server uuids t's MySQL GTIDs name.
func TokenUUIDs(t Token) int { return t.t.MySQL.UUIDs() }

// PrimaryLooked reports whether db has read its current primary's executed
// GTIDs at least once (the monitor's first round, a capture): a token
// captured for writes begun after that keeps only the uuids they may have
// used.
func PrimaryLooked(db *DB) bool {
	st := db.tokens().stable.Load()
	return st != nil && st.srv == db.primaryServer()
}
