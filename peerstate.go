package peer

import (
	"errors"
	"slices"
	"sync"
)

// speech is the language a peer has been heard to speak.
type speech uint8

const (
	speechUnknown speech = iota // not learned yet: try the extension
	speechExt                   // answered an extension call
	speechBook                  // answered one with a fault: a book node
)

// peerState is what a node has learned of one peer.
type peerState struct {
	// answered: the peer has answered a call (a reply or a fault).
	// Discovery hands such peers on first.
	answered bool
	speech   speech
}

// peerStates is what a node has learned of its known peers, by URL. An
// entry goes with its peer (Forget); entries of peers forgotten while a
// call to them was in flight are pruned once they outnumber the known
// peers. Safe for concurrent use.
type peerStates struct {
	mu sync.Mutex
	// guards of
	of map[string]peerState
}

func (p *peerStates) get(url string) peerState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.of[url]
}

// answered records that url answered a call, in speech s if that call
// taught it (speechUnknown keeps what was known). known, the sorted
// known peers, bounds what is kept.
func (p *peerStates) answered(url string, s speech, known []string, maxKnown int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.of[url]
	if ok && st.answered && (s == speechUnknown || st.speech == s) {
		return // the common case: nothing new
	}
	if p.of == nil {
		p.of = make(map[string]peerState)
	}
	if !ok && len(p.of) >= 2*maxKnown {
		for u := range p.of {
			if _, known := slices.BinarySearch(known, u); !known {
				delete(p.of, u)
			}
		}
	}
	st.answered = true
	if s != speechUnknown {
		st.speech = s
	}
	p.of[url] = st
}

// relearn forgets which language url speaks, keeping that it answered:
// a peer that says hello again may have been upgraded, or replaced.
func (p *peerStates) relearn(url string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.of[url]; ok {
		st.speech = speechUnknown
		p.of[url] = st
	}
}

func (p *peerStates) forget(url string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.of, url)
}

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
