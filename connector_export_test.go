package rwsplit

import "database/sql/driver"

// Test-only access to the Connector's internals for the external test
// package.

// ConnectorStmts returns, by query text, how many prepared statements of
// virtual connections share the connector's Stmt.
func ConnectorStmts(c driver.Connector) map[string]int {
	cn := c.(*connector)
	cn.mu.Lock()
	defer cn.mu.Unlock()
	out := map[string]int{}
	for q, ss := range cn.stmts {
		out[q] = ss.refs
	}
	return out
}

// ConnectorPreparedOn returns the servers the connector's shared Stmt for
// query is prepared on (nil if there is none).
func ConnectorPreparedOn(c driver.Connector, query string) []*Server {
	cn := c.(*connector)
	cn.mu.Lock()
	ss := cn.stmts[query]
	cn.mu.Unlock()
	if ss == nil {
		return nil
	}
	return PreparedOn(ss.st)
}
