package peer

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/transport"
)

func memNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = "mem://self"
	}
	cfg.Dir = t.TempDir()
	cfg.Transport = transport.NewMemory()
	n, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	return n
}

func from(ip string) context.Context {
	return transport.WithCallerAddr(context.Background(), netip.MustParseAddr(ip))
}

func TestHelloRateLimit(t *testing.T) {
	n := memNode(t, Config{})
	a := from("10.0.0.1")
	// Nothing answers at these URLs: each hello is refused for that
	// (ErrNoAnswer) until the caller is over its limit (ErrLimited).
	for i := range HelloBurst {
		require.ErrorIs(t, n.Hello(a, fmt.Sprintf("mem://p%d", i)), ErrNoAnswer)
	}
	require.ErrorIs(t, n.Hello(a, "mem://one-more"), ErrLimited)
	require.NotContains(t, n.Known(), "mem://one-more")
	// Another caller, and the node's own program, are not held back.
	require.ErrorIs(t, n.Hello(from("10.0.0.2"), "mem://other"), ErrNoAnswer)
	require.NoError(t, n.Hello(context.Background(), "mem://own"))

	unlimited := memNode(t, Config{HelloRate: -1})
	for i := range 3 * HelloBurst {
		require.ErrorIs(t, unlimited.Hello(a, fmt.Sprintf("mem://p%d", i)), ErrNoAnswer)
	}
}

func TestWrongSecretRateLimit(t *testing.T) {
	n := memNode(t, Config{Secret: "right"})
	a := from("10.0.0.1")
	for range GuessBurst {
		require.ErrorIs(t, n.Fetch(a, "x", "wrong"), ErrAccessDenied)
	}
	// Over the limit, even the right secret is refused: a guesser
	// learns nothing from its guesses.
	require.ErrorIs(t, n.Fetch(a, "x", "right"), ErrAccessDenied)
	// Others are not: the right secret gets as far as the search.
	require.ErrorIs(t, n.Fetch(from("10.0.0.2"), "x", "right"), ErrUnhandled)
	require.ErrorIs(t, n.Fetch(context.Background(), "x", "right"), ErrUnhandled)
}

func TestCallerLimitsBounded(t *testing.T) {
	c := newCallerLimits(1, 1, 2)
	for i := range maxCallers + 10 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		require.True(t, c.allow(transport.WithCallerAddr(context.Background(), ip)))
	}
	require.LessOrEqual(t, len(c.buckets), maxCallers)
	require.Nil(t, newCallerLimits(-1, 1, 2))
	require.True(t, (*callerLimits)(nil).allow(from("10.0.0.1")))
}

// A caller that keeps guessing waits longer after each wrong secret: 10 s
// after the burst, then 20 s, 40 s…, up to an hour; a right secret, once
// it is heard, ends the back-off.
func TestWrongSecretBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memNode(t, Config{Secret: "right"})
		a := from("10.0.0.1")
		for range GuessBurst {
			require.ErrorIs(t, n.Fetch(a, "x", "wrong"), ErrAccessDenied)
		}
		for _, wait := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second} {
			time.Sleep(wait - time.Second)
			require.ErrorIs(t, n.Fetch(a, "x", "right"), ErrAccessDenied, "still waiting")
			time.Sleep(time.Second)
			require.ErrorIs(t, n.Fetch(a, "x", "wrong"), ErrAccessDenied, "heard, and wrong: a longer wait")
		}
		time.Sleep(80 * time.Second)
		require.ErrorIs(t, n.Fetch(a, "x", "right"), ErrUnhandled, "heard, and right: as far as the search")
		require.ErrorIs(t, n.Fetch(a, "x", "wrong"), ErrAccessDenied)
		require.ErrorIs(t, n.Fetch(a, "x", "right"), ErrUnhandled, "the back-off starts over after a right secret")

		for range 40 {
			n.Fetch(from("10.0.0.3"), "x", "wrong")
			time.Sleep(time.Hour)
		}
		n.guesses.mu.Lock()
		until := n.guesses.of[netip.MustParseAddr("10.0.0.3")].until
		n.guesses.mu.Unlock()
		require.LessOrEqual(t, time.Until(until), time.Hour, "the wait is capped")
	})
}
