package peertest

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// WireCodec sends every call between nodes through the XML-RPC codec: the
// caller's arguments are encoded as the XML-RPC transport's client encodes
// them, decoded by its server handler, and the reply makes the same trip
// back, in memory and without sockets. A test then fails where a real wire
// could not carry a value (a name with a control character, say), instead
// of passing on the in-memory network alone. Calls from the test to a
// node (Node.Query, Node.Fetch) are direct, as from a node's front-end.
func WireCodec() Option {
	return func(o *options) { o.wire = true }
}

// wireNet carries calls through the XML-RPC client and handler, with an
// http.RoundTripper that hands each request to the callee's handler.
type wireNet struct {
	client *xmlrpc.Transport

	mu sync.Mutex
	// guards handlers
	handlers map[string]http.Handler // by host: see wireHost
}

func newWireNet(tb testing.TB) *wireNet {
	w := &wireNet{handlers: make(map[string]http.Handler)}
	// CallTimeout and StallTimeout -1: only the caller's context bounds a call, as on the
	// in-memory network, so that BlackHole waits for the caller's deadline.
	w.client = xmlrpc.New(xmlrpc.Config{CallTimeout: -1, StallTimeout: -1, RoundTripper: w})
	tb.Cleanup(func() { w.client.Close() })
	return w
}

// wireHost maps a node URL to the host of its XML-RPC endpoint: the node's
// name, or for any other URL its hex form after "x-", which no name can
// start with.
func wireHost(url string) string {
	if name, ok := strings.CutPrefix(url, URLPrefix); ok && nameProblem(name) == "" {
		return name
	}
	return "x-" + hex.EncodeToString([]byte(url))
}

func (w *wireNet) listen(url string, p transport.Peer) (io.Closer, error) {
	if p == nil {
		return nil, fmt.Errorf("peertest: listen %s: nil Peer", url)
	}
	host := wireHost(url)
	h := xmlrpc.NewHandler(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.handlers[host] != nil {
		return nil, fmt.Errorf("peertest: listen %s: address already in use", url)
	}
	w.handlers[host] = h
	return closerFunc(func() error {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.handlers[host] == h {
			delete(w.handlers, host)
		}
		return nil
	}), nil
}

func (w *wireNet) dial(url string) (transport.Peer, error) {
	return w.client.Dial("http://" + wireHost(url) + "/RPC2")
}

// RoundTrip serves the request with the callee's handler, in the calling
// goroutine, so that the request's context (the caller's deadline, the
// trace's parent call) reaches the callee.
func (w *wireNet) RoundTrip(req *http.Request) (*http.Response, error) {
	w.mu.Lock()
	h := w.handlers[req.URL.Host]
	w.mu.Unlock()
	if h == nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, transport.ErrUnreachable
	}
	sreq := req.Clone(req.Context())
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "peertest"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, sreq)
	if req.Body != nil {
		req.Body.Close()
	}
	if err := req.Context().Err(); err != nil {
		// The caller gave up: on a real wire the reply, a fault
		// about the ended context as like as not, never reaches it.
		return nil, err
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
