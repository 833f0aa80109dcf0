package peertest

import (
	"context"
	"fmt"
	"io"

	"github.com/filepeer/peer/transport"
)

// nodeTransport is one node's view of the network: each node has its own,
// so that the network knows who makes every call it carries.
type nodeTransport struct {
	net  *Network
	from string
}

func (t *nodeTransport) Listen(url string, p transport.Peer) (io.Closer, error) {
	p = &servedPeer{p: p, t: t.net.trace}
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
	return &linkPeer{net: t.net, from: t.from, to: t.net.nameOf(url), url: url, inner: inner}, nil
}

// linkPeer is a call's way from one node to another: it traces the call
// and applies the faults of the link, the callee and the partition.
type linkPeer struct {
	net      *Network
	from, to string
	url      string
	inner    transport.Peer
}

// do runs deliver for a call of method m, unless a fault stops it.
func (p *linkPeer) do(ctx context.Context, m Method, name string, history []string, deliver func(context.Context) error) error {
	n := p.net
	c, ctx := n.trace.begin(ctx, n, p.from, p.to, m, name, history)
	info := func() Call {
		if c != nil {
			return *c
		}
		return Call{Caller: p.from, Callee: p.to, Method: m, Name: name, History: n.names(history)}
	}
	pl := n.decide(p.from, p.to, m, info)
	err := pl.apply(ctx, n, p.from, p.to, p.url)
	if err == nil {
		err = deliver(ctx)
		if err == nil && pl.act == actDropReply {
			err = fmt.Errorf("transport: %s: reply lost: %w", p.url, ErrDropped)
		}
	}
	n.trace.end(c, err, pl.fault(), n.trace.delivered(ctx))
	return err
}

func (p *linkPeer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	var body io.ReadCloser
	err := p.do(ctx, MethodQuery, name, history, func(ctx context.Context) error {
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
	return p.do(ctx, MethodHello, url, nil, func(ctx context.Context) error { return p.inner.Hello(ctx, url) })
}

func (p *linkPeer) Fetch(ctx context.Context, name, secret string) error {
	return p.do(ctx, MethodFetch, name, nil, func(ctx context.Context) error { return p.inner.Fetch(ctx, name, secret) })
}

func (p *linkPeer) List(ctx context.Context) ([]string, error) {
	var names []string
	err := p.do(ctx, MethodList, "", nil, func(ctx context.Context) error {
		l, ok := p.inner.(transport.Lister)
		if !ok {
			return &transport.Fault{Code: transport.CodeError, Message: `method "list" is not supported`}
		}
		var err error
		names, err = l.List(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return names, nil
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
	l, ok := s.p.(transport.Lister)
	if !ok {
		return nil, &transport.Fault{Code: transport.CodeError, Message: `method "list" is not supported`}
	}
	return l.List(ctx)
}
