package rwsplit

import "context"

// Test-only access for the modes' tests (modes_test.go).

// MonitorRound runs one round of the monitor's checks now, without the
// primary's history (so it measures no lag from it): what each replica has
// applied is noted, as the monitor's own rounds do.
func MonitorRound(db *DB) { db.checkAll(context.Background(), nil) }

// ReadsNoted is how many servers have a Monotonic read of s on record.
func ReadsNoted(s *Session) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}
