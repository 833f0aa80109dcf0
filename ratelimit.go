package peer

import (
	"context"
	"errors"
	"net/netip"
	"sync"

	"golang.org/x/time/rate"

	"github.com/filepeer/peer/transport"
)

// Defaults of the per-caller limits (Config.HelloRate, Config.GuessRate).
const (
	// DefaultHelloRate is how many hellos a second one caller address
	// may make, after a burst of HelloBurst.
	DefaultHelloRate = 1.0
	// HelloBurst is how many hellos a caller may make at once.
	HelloBurst = 32
	// DefaultGuessRate sets the first wait of a caller address that has
	// sent GuessBurst wrong secrets, 1/DefaultGuessRate = 10 s, which
	// doubles with each wrong secret after (see Config.GuessRate).
	DefaultGuessRate = 0.1
	// GuessBurst is how many wrong secrets a caller may send before it
	// must wait.
	GuessBurst = 10
	// maxCallers bounds the callers a limit remembers.
	maxCallers = 4096
)

// ErrLimited is returned, wrapped, for a call refused because its caller
// made too many of them.
var ErrLimited = errors.New("peer: too many calls from this address; try again later")

// callerLimits rations one kind of call per caller address, with a token
// bucket each (golang.org/x/time/rate, the Go team's own). A nil
// *callerLimits allows everything. Calls with no caller address in their
// context (the node's own program, a transport that gives none) are never
// limited.
type callerLimits struct {
	every rate.Limit
	burst int

	mu sync.Mutex
	// guards buckets
	buckets map[netip.Addr]*rate.Limiter
}

// newCallerLimits returns the limits for perSecond calls a second after a
// burst; nil, no limit, if perSecond is negative; def if it is zero.
func newCallerLimits(perSecond, def float64, burst int) *callerLimits {
	switch {
	case perSecond < 0:
		return nil
	case perSecond == 0:
		perSecond = def
	}
	return &callerLimits{every: rate.Limit(perSecond), burst: burst, buckets: make(map[netip.Addr]*rate.Limiter)}
}

// bucket returns ctx's caller's bucket, or nil if ctx names no caller.
func (c *callerLimits) bucket(ctx context.Context) *rate.Limiter {
	if c == nil {
		return nil
	}
	addr, ok := transport.CallerAddr(ctx)
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.buckets[addr]
	if ok {
		return b
	}
	if len(c.buckets) >= maxCallers {
		// Forget the callers whose buckets have refilled: they are
		// where a new bucket would be.
		for a, b := range c.buckets {
			if b.Tokens() >= float64(c.burst) {
				delete(c.buckets, a)
			}
		}
		if len(c.buckets) >= maxCallers {
			// All are busy: as many addresses as that get no
			// limit from memory; start over rather than grow.
			clear(c.buckets)
		}
	}
	b = rate.NewLimiter(c.every, c.burst)
	c.buckets[addr] = b
	return b
}

// allow takes a token for a call under ctx, and reports whether there was
// one.
func (c *callerLimits) allow(ctx context.Context) bool {
	b := c.bucket(ctx)
	return b == nil || b.Allow()
}
