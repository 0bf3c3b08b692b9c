package rwsplit

// Test-only access to internals for the external test package.

// SetAfterCaptureHook makes f run after each successful shared read of the
// primary's position (captures, token checks, Latest and Monotonic reads),
// before it is published to its waiters and merged into any scope.
func SetAfterCaptureHook(db *DB, f func()) { db.hooks = &testHooks{afterCapture: f} }

// PreparedOn returns the servers st is prepared on.
func PreparedOn(st *Stmt) []*Server {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*Server
	for s := range st.stmts {
		out = append(out, s)
	}
	return out
}

// LastWaitFailed reports whether the last wait on s failed.
func LastWaitFailed(s *Server) bool { return s.lastWaitFailed() }

// BreakWaits breaks db on purpose (test only): every mode but Primary reads
// as Eventual, with no wait and no fallback. The history checker must then
// report violations.
func BreakWaits(db *DB) {
	if db.hooks == nil {
		db.hooks = &testHooks{}
	}
	db.hooks.breakWaits = true
}
