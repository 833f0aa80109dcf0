package peer_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
)

// countPings wraps a transport and counts the pings to one URL that were
// answered (a result or a fault).
type countPings struct {
	transport.Transport
	url      string
	answered *atomic.Int64
}

func (c countPings) Dial(url string) (transport.Peer, error) {
	p, err := c.Transport.Dial(url)
	if err != nil || url != c.url {
		return p, err
	}
	return countingPeer{p.(callerPeer), c.answered}, nil
}

type callerPeer interface {
	transport.Peer
	transport.Caller
}

type countingPeer struct {
	callerPeer
	answered *atomic.Int64
}

func (p countingPeer) Call(ctx context.Context, method string, args ...any) (any, error) {
	v, err := p.callerPeer.Call(ctx, method, args...)
	var f *peer.Fault
	if method == "filepeer.ping" && (err == nil || errors.As(err, &f)) {
		p.answered.Add(1)
	}
	return v, err
}

// A Python book node in the network is pinged without side effects: its
// files and known peers stay as they were, it passes nothing on, and it
// is never forgotten while it is up.
func TestInteropPythonNodePinged(t *testing.T) {
	py := python3(t)
	pn := startPyNode(t, py)
	tr := interopTransport(t)
	// b is the Python node's only peer: a broadcast would reach it.
	var queriesAtB atomic.Int64
	b := startNode(t, countQueries{tr, &queriesAtB}, "http://"+testenv.FreeAddr(t))
	pyHello(t, py, pn, b.URL())
	filesBefore := pyCall(t, py, pn.url, "list")

	var answered atomic.Int64
	var forgotten atomic.Int64
	a := startNode(t, countPings{tr, pn.url, &answered}, "http://"+testenv.FreeAddr(t), func(c *peer.Config) {
		c.PingInterval = 100 * time.Millisecond
		c.OnPeer = func(e peer.PeerEvent) {
			if e.Kind != peer.PeerJoined {
				forgotten.Add(1)
			}
		}
	})
	a.put(t, "only-at-a.txt", "a's")
	require.NoError(t, a.Hello(context.Background(), pn.url))
	deadline := time.Now().Add(60 * time.Second) // a bound on the loop, not an assertion
	for answered.Load() < 10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.GreaterOrEqual(t, answered.Load(), int64(10), "the Python node answers pings")
	require.Equal(t, []string{pn.url}, a.Known(), "never forgotten while up")
	require.Zero(t, forgotten.Load())
	require.Equal(t, filesBefore, pyCall(t, py, pn.url, "list"), "its files unchanged")
	require.Zero(t, queriesAtB.Load(), "the pings made the Python node pass nothing on")
	// Its known peers unchanged: it still does not know a (a ping is no
	// hello), so a's file is not found through it; b, its one peer, is
	// asked, which is the query's own broadcast.
	r := pyCall(t, py, pn.url, "query", "only-at-a.txt")
	require.Equal(t, peer.Unhandled, r.Code, "the Python node never learned a: %+v", r)
}

// countQueries counts the queries the node it serves receives.
type countQueries struct {
	transport.Transport
	n *atomic.Int64
}

type servedNode interface {
	transport.Peer
	transport.Caller
	transport.Lister
	transport.Contexter
}

type queryCounter struct {
	servedNode
	n *atomic.Int64
}

func (c countQueries) Listen(url string, p transport.Peer) (io.Closer, error) {
	return c.Transport.Listen(url, queryCounter{p.(servedNode), c.n})
}

func (q queryCounter) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	q.n.Add(1)
	return q.servedNode.Query(ctx, name, history)
}

func (q queryCounter) Call(ctx context.Context, method string, args ...any) (any, error) {
	if method == "filepeer.query" {
		q.n.Add(1)
	}
	return q.servedNode.Call(ctx, method, args...)
}
