package rwsplit_test

import "github.com/rwsplit/rwsplit"

// chaosBreakWaits breaks a DB's waiting modes on purpose (every mode but
// Primary behaves as Eventual: no wait, no fallback), for the broken run of
// TestChaos.
var chaosBreakWaits = rwsplit.BreakWaits
