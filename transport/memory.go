package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// Memory is an in-memory network: every node configured with the same
// *Memory reaches the others by URL (any string, such as "mem://a"), with no
// sockets. A URL at which nothing is listening answers ErrUnreachable, as a
// dead host would. Arguments are copied and errors reduced to what a wire
// could carry, so a node cannot tell Memory from a real network. Safe for
// concurrent use.
type Memory struct {
	mu sync.RWMutex
	// guards nodes
	nodes map[string]*memListener
}

// NewMemory returns an empty in-memory network.
func NewMemory() *Memory {
	return &Memory{nodes: make(map[string]*memListener)}
}

// Listen serves p at url on the network. It fails if url is empty or
// already served.
func (m *Memory) Listen(url string, p Peer) (io.Closer, error) {
	if url == "" {
		return nil, errors.New("transport: listen: empty URL")
	}
	if p == nil {
		return nil, errors.New("transport: listen: nil Peer")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.nodes[url]; ok {
		return nil, fmt.Errorf("transport: listen %s: address already in use", url)
	}
	l := &memListener{m: m, url: url, p: p}
	m.nodes[url] = l
	return l, nil
}

// Dial returns a client for url. It never fails: whether anything listens
// at url is known only when a call is made.
func (m *Memory) Dial(url string) (Peer, error) {
	return &memPeer{m: m, url: url}, nil
}

func (m *Memory) lookup(ctx context.Context, url string) (Peer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	l := m.nodes[url]
	m.mu.RUnlock()
	if l == nil {
		return nil, fmt.Errorf("transport: %s: %w", url, ErrUnreachable)
	}
	return l.p, nil
}

type memListener struct {
	m    *Memory
	url  string
	p    Peer
	once sync.Once
}

func (l *memListener) Close() error {
	l.once.Do(func() {
		l.m.mu.Lock()
		if l.m.nodes[l.url] == l {
			delete(l.m.nodes, l.url)
		}
		l.m.mu.Unlock()
	})
	return nil
}

// memPeer is the client side of Memory. It implements Lister and Caller
// too, answering UnknownMethod when the served Peer does not.
var (
	_ Lister = (*memPeer)(nil)
	_ Caller = (*memPeer)(nil)
)

type memPeer struct {
	m   *Memory
	url string
}

func (c *memPeer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	p, err := c.m.lookup(ctx, c.url)
	if err != nil {
		return nil, err
	}
	body, err := p.Query(ctx, name, slices.Clone(history))
	if err != nil {
		return nil, onWire(ctx, err)
	}
	return body, nil
}

func (c *memPeer) Hello(ctx context.Context, url string) error {
	p, err := c.m.lookup(ctx, c.url)
	if err != nil {
		return err
	}
	return onWire(ctx, p.Hello(ctx, url))
}

func (c *memPeer) Fetch(ctx context.Context, name, secret string) error {
	p, err := c.m.lookup(ctx, c.url)
	if err != nil {
		return err
	}
	return onWire(ctx, p.Fetch(ctx, name, secret))
}

func (c *memPeer) List(ctx context.Context) ([]string, error) {
	p, err := c.m.lookup(ctx, c.url)
	if err != nil {
		return nil, err
	}
	names, err := List(ctx, p)
	if err != nil {
		return nil, onWire(ctx, err)
	}
	return slices.Clone(names), nil
}

func (c *memPeer) Call(ctx context.Context, method string, args ...any) (any, error) {
	p, args, err := c.served(ctx, method, args)
	if err != nil {
		return nil, err
	}
	v, err := Call(ctx, p, method, args...)
	if err != nil {
		return nil, onWire(ctx, err)
	}
	if rc, ok := v.(io.ReadCloser); ok {
		rc.Close()
		return nil, &Fault{Code: CodeError, Message: fmt.Sprintf("method %q returns file contents: call Open", method)}
	}
	if v, err = wireValue(v); err != nil {
		// The served side could not have encoded it: a fault, as a
		// real server sends.
		return nil, &Fault{Code: CodeError, Message: err.Error()}
	}
	return v, nil
}

func (c *memPeer) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	p, args, err := c.served(ctx, method, args)
	if err != nil {
		return nil, err
	}
	body, err := Open(ctx, p, method, args...)
	if err != nil {
		return nil, onWire(ctx, err)
	}
	return body, nil
}

// served finds the served Peer, and the arguments as it would receive
// them.
func (c *memPeer) served(ctx context.Context, method string, args []any) (Peer, []any, error) {
	args, err := wireArgs(args)
	if err != nil {
		return nil, nil, fmt.Errorf("transport: %s %s: %w", method, c.url, err)
	}
	p, err := c.m.lookup(ctx, c.url)
	if err != nil {
		return nil, nil, err
	}
	return p, args, nil
}

// onWire turns a served Peer's error into what the caller of a real wire
// would see: a fresh copy of a *Fault, the caller's own context error, or
// any other error as a fault with CodeError, as Python's server sends it.
func onWire(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var f *Fault
	if errors.As(err, &f) {
		return &Fault{Code: f.Code, Message: f.Message}
	}
	return &Fault{Code: CodeError, Message: err.Error()}
}
