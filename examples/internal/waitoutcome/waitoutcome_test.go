package waitoutcome

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rwsplit/rwsplit"
)

func TestOf(t *testing.T) {
	for want, e := range map[string]rwsplit.WaitEvent{
		"skipped":   {Skipped: true},
		"ok":        {},
		"timed out": {Err: fmt.Errorf("wait: %w", rwsplit.ErrWaitTimedOut)},
		"canceled":  {Err: context.DeadlineExceeded},
		"failed":    {Err: errors.New("1045")},
	} {
		assert.Equal(t, want, Of(e))
	}
}
