package peer

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/filepeer/peer/transport"
)

// answers remembers which known peers have answered a call, so that a
// known list full of URLs that never answered (made up by whoever said
// hello) still has room for a real peer: Hello, finding the list full,
// evicts one that never answered. Peers that answered stay.
//
// The query path tells it of every reply with noteAnswer. A peer that the
// node's own program adds (a Hello whose context names no caller, see
// transport.CallerAddr) counts as answered: the program vouches for it.
type answers struct {
	mu sync.Mutex
	// guards seen
	seen map[string]struct{}
}

// noteAnswer records the outcome of a call to the known peer at url: a
// reply or a fault is an answer, any other error (a refused connection, a
// timeout, garbage) is not. It is safe for concurrent use and cheap
// enough for every call.
func (n *Node) noteAnswer(url string, err error) {
	var f *Fault
	if err != nil && !errors.As(err, &f) {
		return
	}
	// Read before a.mu is taken: Hello holds n.mu while it takes a.mu.
	known := n.peers()
	a := &n.answers
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.seen[url]; ok {
		return
	}
	if a.seen == nil {
		a.seen = make(map[string]struct{})
	}
	if len(a.seen) >= 2*n.maxKnown {
		// Forgotten peers linger here; keep only the known ones.
		for u := range a.seen {
			if _, ok := slices.BinarySearch(known, u); !ok {
				delete(a.seen, u)
			}
		}
	}
	a.seen[url] = struct{}{}
}

// evictSilent removes from known, which is full, a peer that has never
// answered, and returns it, or "" if it found none. n.mu must be held.
func (n *Node) evictSilent() string {
	a := &n.answers
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, u := range n.known {
		if _, ok := a.seen[u]; !ok {
			n.known = slices.Concat(n.known[:i], n.known[i+1:])
			n.log.Debug("evicted a peer that never answered", "peer", u)
			n.dialects.forget(u)
			return u
		}
	}
	return ""
}

// vouch marks url as answered if the hello that added it came from the
// node's own program rather than over the network. n.mu must be held.
func (n *Node) vouch(ctx context.Context, url string) {
	if _, remote := transport.CallerAddr(ctx); remote {
		return
	}
	a := &n.answers
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = make(map[string]struct{})
	}
	a.seen[url] = struct{}{}
}
