package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

func TestConsumerNeverReadsStale(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	c := rwsplittest.Start(t, rwsplittest.MariaDB)
	ctx := context.Background()
	producer, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs())
	require.NoError(t, err)
	defer producer.Close()
	consumer, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs())
	require.NoError(t, err)
	defer consumer.Close()
	require.NoError(t, Setup(ctx, c, producer))
	for _, r := range c.Replicas {
		require.NoError(t, r.SetDelay(ctx, time.Second))
	}

	read, stale, err := Run(ctx, producer, consumer, rwsplit.Eventual, false, 100)
	require.NoError(t, err)
	assert.Positive(t, stale, "without the token the consumer reads stale data (read %d)", read)

	read, stale, err = Run(ctx, producer, consumer, rwsplit.WaitGTID(5*time.Second), true, 100)
	require.NoError(t, err)
	assert.Zero(t, stale)
	assert.Equal(t, 100, read)
	assert.Zero(t, consumer.Stats().Fallbacks, "read from replicas, not the primary")
}
