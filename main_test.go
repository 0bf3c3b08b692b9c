package rwsplit_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for f, c := range clusters.m {
		if err := c.Terminate(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "terminate %s cluster: %v\n", f, err)
		}
	}
	os.Exit(code)
}
