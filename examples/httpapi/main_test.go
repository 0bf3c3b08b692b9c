package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

func TestReadYourWritesOverHTTP(t *testing.T) {
	if testing.Short() && !rwsplittest.InCI() {
		t.Skip("integration test: skipped in -short mode")
	}
	c := rwsplittest.Start(t, rwsplittest.MySQL)
	ctx := context.Background()
	key, err := randomKey()
	require.NoError(t, err)
	db, err := rwsplit.Open("mysql", c.Primary.DSN(), c.ReplicaDSNs(), rwsplit.WithTokenKey(key))
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, Setup(ctx, c, db))
	for _, r := range c.Replicas {
		require.NoError(t, r.SetDelay(ctx, time.Second))
	}
	srv := httptest.NewServer(Handler(db))
	defer srv.Close()

	seen, err := Client(srv.URL, 5)
	require.NoError(t, err)
	assert.Equal(t, 5, seen, "every GET after its POST sees the note")
	assert.Positive(t, db.Stats().Waits, "reads waited on replicas")

	// Without the token the same read is stale: the test can see it.
	_, err = db.ExecContext(ctx, "INSERT INTO notes (id, body) VALUES (1000, 'fresh')")
	require.NoError(t, err)
	resp, err := http.Get(srv.URL + "/notes?id=1000")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a client without the token reads a lagging replica")

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/notes?id=1", nil)
	req.Header.Set(TokenHeader, "1~my~'; DROP TABLE notes; --~~")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "a hostile token is rejected")

	// A well-formed token the client made up is not signed: rejected too.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/notes?id=1", nil)
	req.Header.Set(TokenHeader, "2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-999999~~")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "an unsigned token is rejected")
}
