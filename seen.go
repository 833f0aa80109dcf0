package peer

import (
	"crypto/rand"
	"sync"
	"time"
)

// A query's identity is made where the query starts (a local caller's
// query, or one a book node passes to this node, which carries none) and
// travels with it in filepeer.query, so that a node handles each query
// once however many paths lead to it.
const (
	maxQueryIDLen = 64
	// maxSeen bounds the queries a node remembers: a flood of made-up
	// identities costs memory up to this and no more.
	maxSeen = 1 << 16
)

// newQueryID returns a fresh identity: 26 characters carrying 128 bits.
func newQueryID() string { return rand.Text() }

func validQueryID(id string) bool {
	if id == "" || len(id) > maxQueryIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// seenQueries remembers the queries a node has handled, each with the
// shortest history it came with (the most hops it had left), for as long
// as a copy of it may still arrive: ttl after it was last handled. A copy
// that comes with as long a history or longer is answered at once; one
// that comes by a shorter path may reach further, and is handled again,
// so no reach is lost. A miss cannot hide a file added later: a later
// query has a new identity. Safe for concurrent use.
type seenQueries struct {
	ttl time.Duration

	mu sync.Mutex
	// guards byID and order
	byID map[string]seenQuery
	// order holds identities in the order their entries expire (ttl is
	// the same for all); an identity handled again is pushed again, and
	// its stale place skipped when it comes up.
	order []seenAt
}

type seenQuery struct {
	depth   int // the shortest history it came with
	expires time.Time
}

type seenAt struct {
	id      string
	expires time.Time
}

func newSeenQueries(ttl time.Duration) *seenQueries {
	return &seenQueries{ttl: ttl, byID: make(map[string]seenQuery)}
}

// handle reports whether a copy of query id that came with a history of
// depth nodes is to be handled, and if so records it.
func (s *seenQueries) handle(id string, depth int) bool {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if q, ok := s.byID[id]; ok && q.depth <= depth {
		return false
	}
	for len(s.byID) >= maxSeen && len(s.order) > 0 {
		s.drop(s.order[0])
		s.order = s.order[1:]
	}
	expires := now.Add(s.ttl)
	s.byID[id] = seenQuery{depth: depth, expires: expires}
	s.order = append(s.order, seenAt{id, expires})
	return true
}

// expire drops the entries whose time is up.
func (s *seenQueries) expire(now time.Time) {
	for len(s.order) > 0 && !s.order[0].expires.After(now) {
		s.drop(s.order[0])
		s.order = s.order[1:]
	}
}

// drop removes the entry that at names, unless the query was handled
// again since (a later place in order stands for it).
func (s *seenQueries) drop(at seenAt) {
	if q, ok := s.byID[at.id]; ok && q.expires.Equal(at.expires) {
		delete(s.byID, at.id)
	}
}

// len returns how many queries are remembered.
func (s *seenQueries) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}
