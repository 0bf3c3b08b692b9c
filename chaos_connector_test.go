package rwsplit_test

import "github.com/rwsplit/rwsplit"

// chaosConnectorReaders and chaosConnectorWriters are the surfaces of
// sql.OpenDB(db.Connector()), once (*rwsplit.DB).Connector exists; until
// then there are none.
func chaosConnectorReaders(*rwsplit.DB) []chaosReader { return nil }

func chaosConnectorWriters(*rwsplit.DB) []chaosWriter { return nil }
