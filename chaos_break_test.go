package rwsplit_test

import "github.com/rwsplit/rwsplit"

// chaosBreakWaits breaks a DB's waiting modes on purpose (they behave as
// Eventual: no wait, no fallback), for the broken run of TestChaos: it is
// rwsplit.BreakWaits from export_test.go, nil until that exists. Once it
// does, this becomes: var chaosBreakWaits = rwsplit.BreakWaits
var chaosBreakWaits func(*rwsplit.DB)
