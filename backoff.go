package peer

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/filepeer/peer/transport"
)

// maxGuessWait caps the back-off of a caller that keeps guessing secrets.
const maxGuessWait = time.Hour

// guessBackoff rations fetches with a wrong secret per caller address:
// from the GuessBurst-th on, each wrong one makes the caller wait before
// its next fetch is heard, 1/Config.GuessRate (10 s) first, then twice as long
// each time, up to maxGuessWait. While it waits, every fetch from it is
// refused, the secret unchecked, so that guessing gains nothing. A right
// secret ends the back-off. A nil *guessBackoff allows everything; calls
// with no caller address (the node's own program) are never held back.
// Safe for concurrent use.
type guessBackoff struct {
	first time.Duration

	mu sync.Mutex
	// guards of
	of map[netip.Addr]*guesser
}

type guesser struct {
	wrong int       // wrong secrets in a row
	until time.Time // refused until then
}

// newGuessBackoff returns the back-off that waits 1/perSecond after the
// burst; nil, none, if perSecond is negative; def if it is zero.
func newGuessBackoff(perSecond, def float64) *guessBackoff {
	switch {
	case perSecond < 0:
		return nil
	case perSecond == 0:
		perSecond = def
	}
	return &guessBackoff{first: time.Duration(float64(time.Second) / perSecond), of: make(map[netip.Addr]*guesser)}
}

// waiting reports whether ctx's caller must wait before a fetch of its
// is heard.
func (b *guessBackoff) waiting(ctx context.Context) bool {
	addr, ok := b.caller(ctx)
	if !ok {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.of[addr]
	return g != nil && time.Now().Before(g.until)
}

// wrong records a wrong secret from ctx's caller.
func (b *guessBackoff) wrong(ctx context.Context) {
	addr, ok := b.caller(ctx)
	if !ok {
		return
	}
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.of[addr]
	if g == nil {
		if len(b.of) >= maxCallers {
			for a, g := range b.of {
				if now.After(g.until.Add(maxGuessWait)) {
					delete(b.of, a) // long quiet: forgiven
				}
			}
			if len(b.of) >= maxCallers {
				return // as many guessers as that: no room to remember one more
			}
		}
		g = &guesser{}
		b.of[addr] = g
	}
	g.wrong++
	if over := g.wrong - GuessBurst + 1; over > 0 {
		wait := b.first << min(over-1, 20)
		g.until = now.Add(min(wait, maxGuessWait))
	}
}

// right ends ctx's caller's back-off.
func (b *guessBackoff) right(ctx context.Context) {
	if addr, ok := b.caller(ctx); ok {
		b.mu.Lock()
		delete(b.of, addr)
		b.mu.Unlock()
	}
}

func (b *guessBackoff) caller(ctx context.Context) (netip.Addr, bool) {
	if b == nil {
		return netip.Addr{}, false
	}
	return transport.CallerAddr(ctx)
}
