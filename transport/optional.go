package transport

import (
	"context"
	"io"
)

// List calls p's List if p is a Lister. A Peer that is not answers
// UnknownMethod("list"), as a node answers a method it does not have, so
// that a caller or a wrapper need not tell the two apart.
func List(ctx context.Context, p Peer) ([]string, error) {
	l, ok := p.(Lister)
	if !ok {
		return nil, UnknownMethod("list")
	}
	return l.List(ctx)
}

// Call calls method on p if p is a Caller; a Peer that is not answers
// UnknownMethod(method).
func Call(ctx context.Context, p Peer, method string, args ...any) (any, error) {
	c, ok := p.(Caller)
	if !ok {
		return nil, UnknownMethod(method)
	}
	return c.Call(ctx, method, args...)
}

// Open opens method's file contents on p if p is a Caller; a Peer that
// is not answers UnknownMethod(method).
func Open(ctx context.Context, p Peer, method string, args ...any) (io.ReadCloser, error) {
	c, ok := p.(Caller)
	if !ok {
		return nil, UnknownMethod(method)
	}
	return c.Open(ctx, method, args...)
}
