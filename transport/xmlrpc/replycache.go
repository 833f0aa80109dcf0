package xmlrpc

import (
	"container/list"
	"net/http"
	"strconv"
	"sync"

	"github.com/filepeer/peer/internal/filestamp"
)

// DefaultReplyCacheBytes is the budget of a handler's cache of encoded
// replies when Config.ReplyCacheBytes is zero.
const DefaultReplyCacheBytes = 64 << 20

// replyCache keeps the whole encoded replies (the XML document, headers
// aside) of settled files sent more than once, by version (filestamp), so
// that a file sent again is neither read nor escaped nor base64-encoded
// again but written from memory, as the ceiling writes its prebuilt
// reply. A file's reply is kept only on its second send in one version
// (the memo knows its kind: see scanMemo) and only if the document is at
// most half the budget, so that a one-off fetch of a large file never
// fills memory.
//
// Every buffer the cache makes counts against the budget from the moment
// it is reserved until it is let go: while it is filled, while it is
// cached, and after it is evicted for as long as some reply is still
// being sent from it. The memory of the cache thus never exceeds the
// budget, however many slow clients read cached replies, which all share
// the one buffer.
//
// A second path beside copyParallel and the stream encoder, kept for
// its figure: see sendCached. Safe for concurrent
// use; a nil *replyCache keeps nothing.
type replyCache struct {
	budget int64

	mu sync.Mutex
	// guards entries, order, filling and live
	entries map[filestamp.Stamp]*cachedReply
	order   *list.List // of *cachedReply, the most recently used first
	filling map[filestamp.Stamp]bool
	live    int64 // bytes of buffers reserved and not yet let go
}

// cachedReply is one file's encoded reply. doc does not change once the
// reply is cached.
type cachedReply struct {
	stamp  filestamp.Stamp
	doc    []byte
	refs   int  // replies being filled or sent from doc
	cached bool // in entries and order
	elem   *list.Element
}

// newReplyCache returns a cache of budget bytes: 0 means
// DefaultReplyCacheBytes, a negative budget none (nil).
func newReplyCache(budget int64) *replyCache {
	switch {
	case budget < 0:
		return nil
	case budget == 0:
		budget = DefaultReplyCacheBytes
	}
	return &replyCache{
		budget:  budget,
		entries: make(map[filestamp.Stamp]*cachedReply),
		order:   list.New(),
		filling: make(map[filestamp.Stamp]bool),
	}
}

// get returns the cached reply of v, held until release, or nil.
func (c *replyCache) get(v version) *cachedReply {
	if c == nil || !v.ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[v.stamp]
	if e == nil {
		return nil
	}
	e.refs++
	c.order.MoveToFront(e.elem)
	return e
}

// release lets go of a reply from get.
func (c *replyCache) release(e *cachedReply) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unref(e)
}

func (c *replyCache) unref(e *cachedReply) {
	e.refs--
	if e.refs == 0 && !e.cached {
		c.live -= int64(cap(e.doc))
	}
}

// reserve returns an empty reply of room for a document of n bytes, for
// v's file, to fill and then commit; or nil if the cache has no room for
// it, keeps it already or is filling it for another reply. It evicts the
// least recently used replies to make room.
func (c *replyCache) reserve(v version, n int64) *cachedReply {
	if c == nil || !v.ok || n <= 0 || n > c.budget/2 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[v.stamp] != nil || c.filling[v.stamp] {
		return nil
	}
	for c.live+n > c.budget && c.order.Len() > 0 {
		c.evict(c.order.Back().Value.(*cachedReply))
	}
	if c.live+n > c.budget {
		// What is left is being sent from evicted buffers.
		return nil
	}
	c.live += n
	c.filling[v.stamp] = true
	return &cachedReply{stamp: v.stamp, doc: make([]byte, 0, n), refs: 1}
}

func (c *replyCache) evict(e *cachedReply) {
	c.order.Remove(e.elem)
	delete(c.entries, e.stamp)
	e.cached, e.elem = false, nil
	if e.refs == 0 {
		c.live -= int64(cap(e.doc))
	}
}

// commit ends the filling of e: if ok and the document fills its room
// exactly, e is cached; otherwise its room is let go.
func (c *replyCache) commit(e *cachedReply, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.filling, e.stamp)
	if ok && len(e.doc) == cap(e.doc) {
		e.cached = true
		e.elem = c.order.PushFront(e)
		c.entries[e.stamp] = e
	}
	c.unref(e)
}

// recorder copies what a reply writes into e's room as it goes out. A
// reply longer than the room is no longer recorded (and so not cached).
type recorder struct {
	http.ResponseWriter
	e    *cachedReply
	over bool
}

func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.ResponseWriter.Write(p)
	if len(r.e.doc)+n > cap(r.e.doc) {
		r.over = true
	}
	if !r.over {
		r.e.doc = append(r.e.doc, p[:n]...)
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the server's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// sendCached sends a cached reply's document, in pieces of cachedPiece,
// each a write straight from the shared buffer that renews the stall
// deadline.
//
// A second path, kept for its figure: BenchmarkFileReply text/cached and
// binary/cached against text/parallel and binary/parallel (a settled
// 16 MiB file over loopback, raw client), side by side in one run,
// medians of 4: dense text 9.2 ms against 24.2 ms (2.6x), random bytes as
// base64 10.3 ms against 22.1 ms (2.1x).
func sendCached(w http.ResponseWriter, doc []byte) error {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	for len(doc) > 0 {
		n := min(len(doc), cachedPiece)
		if _, err := w.Write(doc[:n]); err != nil {
			return err
		}
		doc = doc[n:]
	}
	return nil
}

// cachedPiece is how much of a cached reply goes in one write. Writes of
// replyPiece, which suit a file read into a buffer, were 13-15% faster
// fetched straight from the node (BenchmarkFileReply text/cached and
// binary/cached) but 5-10% slower passed on by a relay (go run ./bench
// -only relay, side by side in one run).
const cachedPiece = 1 << 20
