package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// logCalls is a transport whose listeners log each call they serve, at
// debug level: the method, the file's name, the caller, the outcome and
// the time the node took to answer. It sits between the transport and the
// node, so it logs calls over any transport, and never sees a secret.
type logCalls struct {
	transport.Transport
	log *slog.Logger
}

func (l logCalls) Listen(url string, p transport.Peer) (io.Closer, error) {
	return l.Transport.Listen(url, loggedPeer{p, l.log})
}

// loggedPeer logs the calls to p. It keeps p's optional interfaces, which
// the transport looks for: Lister, Contexter and Caller (the extension's
// methods, such as filepeer.query: hiding them would make the node a book
// node to its peers).
type loggedPeer struct {
	p   transport.Peer
	log *slog.Logger
}

var (
	_ transport.Lister    = loggedPeer{}
	_ transport.Contexter = loggedPeer{}
	_ transport.Caller    = loggedPeer{}
)

// client is the caller of a call that names none: a query with no history
// comes from a client, as do fetch and list.
const client = "client"

// Query logs the time until the node has its answer: a file's contents
// then stream to the caller, and the body is passed on untouched, since
// the transport looks into it (to send a file, or a relayed text, as it is).
func (l loggedPeer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	start := time.Now()
	body, err := l.p.Query(ctx, name, history)
	caller := client
	if len(history) > 0 {
		caller = history[len(history)-1] // the node that passed the query on
	}
	l.done(ctx, "query", name, caller, start, err)
	return body, err
}

func (l loggedPeer) Hello(ctx context.Context, url string) error {
	start := time.Now()
	err := l.p.Hello(ctx, url)
	l.done(ctx, "hello", "", url, start, err)
	return err
}

func (l loggedPeer) Fetch(ctx context.Context, name, secret string) error {
	start := time.Now()
	err := l.p.Fetch(ctx, name, secret)
	l.done(ctx, "fetch", name, client, start, err)
	return err
}

func (l loggedPeer) List(ctx context.Context) ([]string, error) {
	lister, ok := l.p.(transport.Lister)
	if !ok {
		return nil, &peer.Fault{Code: peer.Unhandled, Message: "list is not served here"}
	}
	start := time.Now()
	names, err := lister.List(ctx)
	l.done(ctx, "list", "", client, start, err)
	return names, err
}

// Call logs an extension call: filepeer.query as the query it is, with
// its name and the node that passed it on, any other under its name.
func (l loggedPeer) Call(ctx context.Context, method string, args ...any) (any, error) {
	c, ok := l.p.(transport.Caller)
	if !ok {
		return nil, transport.UnknownMethod(method)
	}
	start := time.Now()
	v, err := c.Call(ctx, method, args...)
	name, caller := extensionCall(args)
	l.done(ctx, method, name, caller, start, err)
	return v, err
}

// Open is Call for a method whose result is file contents.
func (l loggedPeer) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	c, ok := l.p.(transport.Caller)
	if !ok {
		return nil, transport.UnknownMethod(method)
	}
	start := time.Now()
	body, err := c.Open(ctx, method, args...)
	name, caller := extensionCall(args)
	l.done(ctx, method, name, caller, start, err)
	return body, err
}

// extensionCall reads the name and the caller of an extension call whose
// arguments start with a name and a history, as filepeer.query's do.
func extensionCall(args []any) (name, caller string) {
	caller = client
	if len(args) > 0 {
		name, _ = args[0].(string)
	}
	if len(args) > 1 {
		if h, ok := args[1].([]any); ok && len(h) > 0 {
			caller, _ = h[len(h)-1].(string)
		}
	}
	return name, caller
}

func (l loggedPeer) Context() context.Context {
	if c, ok := l.p.(transport.Contexter); ok {
		return c.Context()
	}
	return context.Background()
}

func (l loggedPeer) done(ctx context.Context, method, name, caller string, start time.Time, err error) {
	attrs := []slog.Attr{slog.String("method", method)}
	if name != "" {
		attrs = append(attrs, slog.String("name", name))
	}
	attrs = append(attrs,
		slog.String("caller", caller),
		slog.String("outcome", outcome(err)),
		slog.Duration("time", time.Since(start)))
	l.log.LogAttrs(ctx, slog.LevelDebug, "call", attrs...)
}

// outcome names how a call ended, in the protocol's words.
func outcome(err error) string {
	var f *peer.Fault
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, peer.ErrUnhandled):
		return "not found"
	case errors.Is(err, peer.ErrAccessDenied):
		return "access denied"
	case errors.As(err, &f):
		return fmt.Sprintf("fault %d", f.Code)
	}
	return "error: " + err.Error()
}
