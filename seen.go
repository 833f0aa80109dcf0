package peer

import (
	"crypto/rand"
	"strings"
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
	// guards byID, lent and order
	byID map[string]seenQuery
	// lent maps a query passed to a book node, by its name and the
	// history it was sent with, to its identity: the book's query that
	// comes back from that node's walk carries that history at its
	// start, and is a copy of the same query (see adopt).
	lent map[string]seenQuery
	// order holds keys in the order their entries expire (ttl is the
	// same for all); a key stored again is pushed again, and its stale
	// place skipped when it comes up.
	order []seenAt
}

type seenQuery struct {
	depth   int    // the shortest history it came with
	id      string // in lent: the query's identity
	expires time.Time
}

type seenAt struct {
	key     string
	lent    bool // key is in lent, not byID
	expires time.Time
}

func newSeenQueries(ttl time.Duration) *seenQueries {
	return &seenQueries{ttl: ttl, byID: make(map[string]seenQuery), lent: make(map[string]seenQuery)}
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
	expires := s.room(now)
	s.byID[id] = seenQuery{depth: depth, expires: expires}
	s.order = append(s.order, seenAt{key: id, expires: expires})
	return true
}

// room makes room for one more entry, dropping the oldest if the table
// is full, and returns when the new entry expires.
func (s *seenQueries) room(now time.Time) time.Time {
	for len(s.byID)+len(s.lent) >= maxSeen && len(s.order) > 0 {
		s.drop(s.order[0])
		s.order = s.order[1:]
	}
	return now.Add(s.ttl)
}

// lend records that query id, for name, goes to a book node with history.
func (s *seenQueries) lend(id, name string, history []string) {
	key := lentKey(name, history)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if q, ok := s.lent[key]; ok && q.id == id {
		return
	}
	expires := s.room(now)
	s.lent[key] = seenQuery{id: id, expires: expires}
	s.order = append(s.order, seenAt{key: key, lent: true, expires: expires})
}

// adopt returns the identity of the query that a book's query for name,
// which came with history, is a copy of: one this node lent to a book
// node with a start of that history. ok is false for a query that
// started at a book node, which then gets a new identity.
func (s *seenQueries) adopt(name string, history []string) (id string, ok bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	for i := len(history) - 1; i > 0; i-- {
		if q, ok := s.lent[lentKey(name, history[:i])]; ok {
			return q.id, true
		}
	}
	return "", false
}

func lentKey(name string, history []string) string {
	return name + "\x00" + strings.Join(history, "\x00")
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
	m := s.byID
	if at.lent {
		m = s.lent
	}
	if q, ok := m[at.key]; ok && q.expires.Equal(at.expires) {
		delete(m, at.key)
	}
}

// len returns how many entries are kept.
func (s *seenQueries) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID) + len(s.lent)
}
