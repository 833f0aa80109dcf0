package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// tracer is a Transport that tells every query it carries between the
// demo's nodes, so that the output shows a query crossing the network. It
// also shows how a program can wrap a transport.
type tracer struct {
	transport.Transport
	out   io.Writer
	names map[string]string // node URL → name; written before any query

	mu sync.Mutex
	// guards writes to out, which come from the nodes' goroutines
}

func (t *tracer) Dial(url string) (transport.Peer, error) {
	p, err := t.Transport.Dial(url)
	if err != nil {
		return nil, err
	}
	return tracedPeer{Peer: p, t: t, url: url}, nil
}

func (t *tracer) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.out, format, args...)
}

type tracedPeer struct {
	transport.Peer
	t   *tracer
	url string
}

// Query tells the call and its answer. The asking node is the last in the
// history: a node adds itself before it passes a query on.
func (p tracedPeer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	from, to := "?", p.t.names[p.url]
	if len(history) > 0 {
		from = p.t.names[history[len(history)-1]]
	}
	p.t.printf("    %s asks %s for %s\n", from, to, name)
	body, err := p.Peer.Query(ctx, name, history)
	switch {
	case err == nil:
		p.t.printf("    %s answers %s: here it is\n", to, from)
	case errors.Is(err, peer.ErrUnhandled):
		p.t.printf("    %s answers %s: not found (fault 100)\n", to, from)
	default:
		p.t.printf("    %s fails %s: %v\n", to, from, err)
	}
	return body, err
}
