// Package hold holds back the file contents that nodes serve, for the
// example programs' tests of progress: a fetch stops at a point the test
// knows, and goes on when the test says.
package hold

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/filepeer/peer/peertest"
	"github.com/filepeer/peer/transport"
)

// Hold lets the first few ranges (filepeer.range) its nodes serve go at
// once, whole, and the others only once Open is called, and then at a slow
// pace, so that a progress bar has something to show. Whole ranges, so
// that none waits in an HTTP buffer and the bytes that have come while the
// hold is shut are known: with pieces of 1 MiB, free MiB.
type Hold struct {
	open     chan struct{}
	openOnce sync.Once
	pace     time.Duration

	mu sync.Mutex
	// guards free
	free int
}

// New returns a hold that lets free ranges through before Open, and
// after Open reads 32 KiB after each pause of pace.
func New(free int, pace time.Duration) *Hold {
	return &Hold{open: make(chan struct{}), free: free, pace: pace}
}

// Open lets the ranges held back go on. Calling it again does nothing.
func (h *Hold) Open() { h.openOnce.Do(func() { close(h.open) }) }

// Transport returns tr, but serving the nodes that listen on it through h.
func (h *Hold) Transport(tr transport.Transport) transport.Transport {
	return heldTransport{tr, h}
}

// letGo reports whether a range may go whole, at once.
func (h *Hold) letGo() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.free > 0 {
		h.free--
		return true
	}
	return false
}

// take returns how many of want bytes a read may have, once the hold is
// open; 0 if ctx ends first.
func (h *Hold) take(ctx context.Context, want int) int {
	select {
	case <-h.open:
	case <-ctx.Done():
		return 0
	}
	select {
	case <-time.After(h.pace):
	case <-ctx.Done():
		return 0
	}
	return min(want, 32<<10)
}

type heldTransport struct {
	transport.Transport
	h *Hold
}

func (t heldTransport) Listen(url string, p transport.Peer) (io.Closer, error) {
	return t.Transport.Listen(url, heldPeer{p, t.h})
}

// heldPeer is a served node whose ranges go through a hold; the rest is
// the node's.
type heldPeer struct {
	transport.Peer
	h *Hold
}

func (p heldPeer) Call(ctx context.Context, method string, args ...any) (any, error) {
	v, err := transport.Call(ctx, p.Peer, method, args...)
	if rc, ok := v.(io.ReadCloser); ok {
		v = p.wrap(ctx, method, rc)
	}
	return v, err
}

// Open is what an in-memory transport calls; an XML-RPC server calls
// Call.
func (p heldPeer) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	rc, err := transport.Open(ctx, p.Peer, method, args...)
	if err != nil {
		return nil, err
	}
	return p.wrap(ctx, method, rc), nil
}

// wrap holds rc back if it is a range that may not go at once.
func (p heldPeer) wrap(ctx context.Context, method string, rc io.ReadCloser) io.ReadCloser {
	if method != string(peertest.MethodRange) || p.h.letGo() {
		return rc
	}
	return &heldBody{ctx: ctx, rc: rc, h: p.h}
}

func (p heldPeer) List(ctx context.Context) ([]string, error) { return transport.List(ctx, p.Peer) }

// Context keeps the node's: its calls end when it closes.
func (p heldPeer) Context() context.Context {
	if c, ok := p.Peer.(transport.Contexter); ok {
		return c.Context()
	}
	return context.Background()
}

type heldBody struct {
	ctx context.Context
	rc  io.ReadCloser
	h   *Hold
}

func (b *heldBody) Read(p []byte) (int, error) {
	k := b.h.take(b.ctx, len(p))
	if k == 0 && len(p) > 0 {
		return 0, b.ctx.Err()
	}
	return b.rc.Read(p[:k])
}

func (b *heldBody) Close() error { return b.rc.Close() }
