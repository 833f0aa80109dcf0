package peertest

import (
	"context"
	"fmt"
	"io"

	"github.com/filepeer/peer/transport"
)

// nodeTransport is one node's view of the network: each node has its own,
// so that the network knows who makes every call it carries. A book
// node's (see Book) hides the extension both ways: it neither serves nor
// makes calls beyond the book's methods.
type nodeTransport struct {
	net  *Network
	from string
	src  *Node // the node whose calls it carries
	book bool
}

// bookPeer is the part of a Peer a book node has.
type bookPeer interface {
	transport.Peer
	transport.Lister
}

// bookOnly hides every method of a Peer but the book's.
type bookOnly struct{ bookPeer }

func (t *nodeTransport) Listen(url string, p transport.Peer) (io.Closer, error) {
	p = &servedPeer{p: p, t: t.net.trace}
	if t.book {
		p = bookOnly{p.(*servedPeer)}
	}
	if t.net.wire != nil {
		return t.net.wire.listen(url, p)
	}
	return t.net.mem.Listen(url, p)
}

func (t *nodeTransport) Dial(url string) (transport.Peer, error) {
	var inner transport.Peer
	var err error
	if t.net.wire != nil {
		inner, err = t.net.wire.dial(url)
	} else {
		inner, err = t.net.mem.Dial(url)
	}
	if err != nil {
		return nil, err
	}
	lp := &linkPeer{net: t.net, from: t.from, src: t.src, to: t.net.nameOf(url), url: url, inner: inner}
	if t.book {
		return bookOnly{lp}, nil
	}
	return lp, nil
}

// linkPeer is a call's way from one node to another: it traces the call
// and applies the faults of the link, the callee and the partition.
type linkPeer struct {
	net      *Network
	from, to string
	src      *Node
	url      string
	inner    transport.Peer
}

// do runs deliver for a call of method m, unless a fault stops it; id is
// the identity of a query that carries one. body, for a call whose reply
// is file contents, is where deliver puts them: do wraps them there, to
// count their bytes and apply the faults that alter them.
func (p *linkPeer) do(ctx context.Context, m Method, name string, history []string, id string, body *io.ReadCloser, deliver func(context.Context) error) error {
	n := p.net
	if p.src != nil && p.src.down.Load() {
		return fmt.Errorf("transport: %s: %w", p.url, ErrCrashed) // a crashed host sends nothing
	}
	c, ctx := n.trace.begin(ctx, n, p.from, p.to, m, name, history, id)
	info := func() Call {
		if c != nil {
			return *c
		}
		return Call{Caller: p.from, Callee: p.to, Method: m, Name: name, History: n.names(history), ID: id}
	}
	pl := n.decide(p.from, p.to, m, info)
	err := pl.apply(ctx, n, p.from, p.to, p.url)
	if err == nil {
		err = deliver(ctx)
		if err == nil && pl.act == actDropReply {
			err = fmt.Errorf("transport: %s: reply lost: %w", p.url, ErrDropped)
		}
		if err == nil && body != nil && *body != nil {
			*body = n.trace.wrapBody(*body, c, pl.corrupt, pl.cut)
		}
	}
	n.trace.end(c, err, pl.fault(), n.trace.delivered(ctx))
	return err
}

func (p *linkPeer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	var body io.ReadCloser
	err := p.do(ctx, MethodQuery, name, history, "", &body, func(ctx context.Context) error {
		b, err := p.inner.Query(ctx, name, history)
		body = b
		return err
	})
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	return body, nil
}

func (p *linkPeer) Hello(ctx context.Context, url string) error {
	return p.do(ctx, MethodHello, url, nil, "", nil, func(ctx context.Context) error { return p.inner.Hello(ctx, url) })
}

func (p *linkPeer) Fetch(ctx context.Context, name, secret string) error {
	return p.do(ctx, MethodFetch, name, nil, "", nil, func(ctx context.Context) error { return p.inner.Fetch(ctx, name, secret) })
}

func (p *linkPeer) List(ctx context.Context) ([]string, error) {
	var names []string
	err := p.do(ctx, MethodList, "", nil, "", nil, func(ctx context.Context) error {
		var err error
		names, err = transport.List(ctx, p.inner)
		return err
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

// extQuery is the extension's query, which the trace shows as a query
// (Method MethodQuery) with its identity (Call.ID).
const extQuery = "filepeer.query"

// traced says how the trace shows an extension call: filepeer.query as
// a query of args' name and history, with its identity; any other method
// under its own name.
func traced(method string, args []any) (m Method, name string, history []string, id string) {
	switch {
	case method == extQuery && len(args) == 3:
		m = MethodQuery
	case method == string(MethodSearch) && len(args) == 4:
		m = MethodSearch
	default:
		return Method(method), "", nil, ""
	}
	name, _ = args[0].(string)
	switch h := args[1].(type) {
	case []string:
		history = h
	case []any:
		for _, v := range h {
			s, _ := v.(string)
			history = append(history, s)
		}
	}
	id, _ = args[2].(string)
	return m, name, history, id
}

// Call carries an extension call, traced and subject to faults as the
// book's calls are.
func (p *linkPeer) Call(ctx context.Context, method string, args ...any) (any, error) {
	m, name, history, id := traced(method, args)
	var v any
	err := p.do(ctx, m, name, history, id, nil, func(ctx context.Context) error {
		var err error
		v, err = transport.Call(ctx, p.inner, method, args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Open is Call for a method whose result is file contents.
func (p *linkPeer) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	m, name, history, id := traced(method, args)
	var body io.ReadCloser
	err := p.do(ctx, m, name, history, id, &body, func(ctx context.Context) error {
		b, err := transport.Open(ctx, p.inner, method, args...)
		body = b
		return err
	})
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	return body, nil
}

// servedPeer is a node as the network serves it: it marks each call it
// receives as delivered, whatever carried it there.
type servedPeer struct {
	p transport.Peer
	t *tracer
}

func (s *servedPeer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	s.t.markDelivered(ctx)
	return s.p.Query(ctx, name, history)
}

func (s *servedPeer) Hello(ctx context.Context, url string) error {
	s.t.markDelivered(ctx)
	return s.p.Hello(ctx, url)
}

func (s *servedPeer) Fetch(ctx context.Context, name, secret string) error {
	s.t.markDelivered(ctx)
	return s.p.Fetch(ctx, name, secret)
}

func (s *servedPeer) List(ctx context.Context) ([]string, error) {
	s.t.markDelivered(ctx)
	return transport.List(ctx, s.p)
}

func (s *servedPeer) Call(ctx context.Context, method string, args ...any) (any, error) {
	s.t.markDelivered(ctx)
	return transport.Call(ctx, s.p, method, args...)
}

func (s *servedPeer) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	s.t.markDelivered(ctx)
	return transport.Open(ctx, s.p, method, args...)
}
