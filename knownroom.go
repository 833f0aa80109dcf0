package peer

import (
	"context"
	"errors"
	"slices"

	"github.com/filepeer/peer/transport"
)

// A known list full of URLs that never answered (made up by whoever said
// hello) must still have room for a real peer: Hello, finding the list
// full, evicts one that never answered (peerStates). Peers that answered
// stay.
//
// The query path tells of every reply with noteAnswer. A peer that the
// node's own program adds (a Hello whose context names no caller, see
// transport.CallerAddr) counts as answered: the program vouches for it.

// noteAnswer records the outcome of a call to the known peer at url: a
// reply or a fault is an answer, any other error (a refused connection, a
// timeout, garbage) is not; s is the language the call taught, if any.
// It is safe for concurrent use and cheap enough for every call.
func (n *Node) noteAnswer(url string, err error, s speech) {
	var f *Fault
	if err != nil && !errors.As(err, &f) {
		return
	}
	// Read before the states are locked: Hello holds n.mu while it
	// locks them.
	n.states.answered(url, s, n.peers(), n.maxKnown)
}

// noteExtension is noteAnswer for a call of an extension method that
// every node of the extension has (filepeer.ping, filepeer.peers):
// success says the peer speaks the extension; a fault, from a peer not
// known to, says it is a book node.
func (n *Node) noteExtension(url string, err error) {
	s := speechExt
	if err != nil {
		s = speechUnknown
		if n.states.get(url).speech == speechUnknown {
			s = speechBook
		}
	}
	n.noteAnswer(url, err, s)
}

// evictSilent removes from known, which is full, a peer that has never
// answered, and returns it, or "" if it found none. n.mu must be held.
func (n *Node) evictSilent() string {
	for i, u := range n.known {
		if !n.states.get(u).answered {
			n.known = slices.Concat(n.known[:i], n.known[i+1:])
			n.states.forget(u)
			n.log.Debug("evicted a peer that never answered", "peer", u)
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
	n.states.answered(url, speechUnknown, n.known, n.maxKnown)
}
