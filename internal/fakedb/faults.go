package fakedb

import "sync"

// afterHooks holds each server's AfterStatement function.
var afterHooks sync.Map // *Server → func(string)

// AfterStatement makes fn run after each statement that s runs without
// error, with the statement's whitespace-normalised text: after each
// statement of a multi-statement text, before the next one runs (as a
// failover that lands between two statements of one round trip). fn runs
// on the connection's goroutine, outside the cluster's lock: it may call
// Cluster.Promote, SetReadOnly, Hang and the like. A nil fn removes the
// hook. Waits and sleeps count as statements too.
func (s *Server) AfterStatement(fn func(stmt string)) {
	if fn == nil {
		afterHooks.Delete(s)
		return
	}
	afterHooks.Store(s, fn)
}

// afterStatement runs s's AfterStatement hook, if any. cl.mu must not be
// held.
func (s *Server) afterStatement(stmt string) {
	if fn, ok := afterHooks.Load(s); ok {
		fn.(func(string))(stmt)
	}
}
