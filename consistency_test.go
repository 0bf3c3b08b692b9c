package rwsplit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
)

func TestWithConsistencyLastWins(t *testing.T) {
	ctx := rwsplit.WithConsistency(context.Background(), rwsplit.Primary)
	ctx = rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second))
	c, ok := rwsplit.ConsistencyFrom(ctx)
	require.True(t, ok)
	assert.Equal(t, "WaitGTID(1s)", c.String())
	_, ok = rwsplit.ConsistencyFrom(context.Background())
	assert.False(t, ok)
	assert.Equal(t, "Sleep(0s).OrFail()", rwsplit.Sleep(-time.Second).OrFail().String())
}
