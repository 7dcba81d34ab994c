package chain

import (
	"context"
	"errors"
	"fmt"
)

// errNoSlot is what a background refresh returns when every STS slot is
// taken: the refresh is skipped and the next request retries it.
var errNoSlot = errors.New("chain: no free sts slot")

// slots bounds the chains of STS calls running at once, so that a burst of
// cold misses cannot trip STS throttling for the whole account.
type slots chan struct{}

// acquire takes a slot, waiting until ctx is done when wait is set and
// giving up at once otherwise.
func (s slots) acquire(ctx context.Context, wait bool) error {
	select {
	case s <- struct{}{}:
		return nil
	default:
	}
	if !wait {
		return errNoSlot
	}
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("chain: waiting for one of %d sts slots: %w", cap(s), ctx.Err())
	}
}

func (s slots) release() { <-s }
