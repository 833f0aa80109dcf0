package libp2p

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/filepeer/peer/transport"
)

// Server timeouts, as the XML-RPC transport's defaults: requests are small,
// replies may be files of any size.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownGrace     = 2 * time.Second
)

// listener serves a Peer on the streams of ProtocolID that reach the host.
// It is the io.Closer that Listen returns.
type listener struct {
	t        *Transport
	url      string
	streams  chan network.Stream
	ctx      context.Context // ends at Close; calls are served under it
	cancel   context.CancelFunc
	srv      *http.Server
	serving  sync.WaitGroup // the Serve goroutine
	handlers sync.WaitGroup // running handlers
	once     sync.Once
	err      error
}

func newListener(t *Transport, url string, p transport.Peer) *listener {
	base := context.Background()
	if c, ok := p.(transport.Contexter); ok {
		base = c.Context()
	}
	l := &listener{t: t, url: url, streams: make(chan network.Stream)}
	l.ctx, l.cancel = context.WithCancel(base)
	h := newHandler(p)
	l.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			l.handlers.Add(1)
			defer l.handlers.Done()
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return l.ctx },
		ErrorLog:          discardLog,
	}
	t.h.SetStreamHandler(ProtocolID, l.handle)
	l.serving.Add(1)
	go func() {
		defer l.serving.Done()
		l.srv.Serve(acceptor{l})
	}()
	return l
}

// handle is the host's stream handler: it hands the stream to Accept, or
// resets it once the listener is closed.
func (l *listener) handle(s network.Stream) {
	select {
	case l.streams <- s:
	case <-l.ctx.Done():
		s.Reset()
	}
}

// URL returns the URL served, with the host's peer id and the real port.
func (l *listener) URL() string { return l.url }

// acceptor is the listener as its http.Server's net.Listener, whose Close
// (which Shutdown calls) leaves the ending to listener.Close.
type acceptor struct{ l *listener }

// Accept returns the next stream as a connection.
func (a acceptor) Accept() (net.Conn, error) {
	l := a.l
	select {
	case s := <-l.streams:
		return streamConn{s}, nil
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Close does nothing: listener.Close ends the acceptor.
func (a acceptor) Close() error { return nil }

// Addr returns the host's peer id, as a net.Addr.
func (a acceptor) Addr() net.Addr { return peerAddr(a.l.t.h.ID()) }

// Close stops serving: new streams are refused, the calls being served
// cancelled and given shutdownGrace to send their faults before their
// streams are cut, and Close waits for them.
func (l *listener) Close() error {
	l.once.Do(func() {
		l.t.h.RemoveStreamHandler(ProtocolID)
		l.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := l.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			l.err = err
		}
		l.srv.Close()
		l.serving.Wait()
		l.handlers.Wait()
		l.t.mu.Lock()
		if l.t.serving == l {
			l.t.serving = nil
		}
		l.t.mu.Unlock()
	})
	return l.err
}

// peerAddr is a peer id as a net.Addr.
type peerAddr peer.ID

func (a peerAddr) Network() string { return Scheme }
func (a peerAddr) String() string  { return peer.ID(a).String() }

// netAddr is the IP address and port of m (its TCP or UDP part), or the
// peer id if m has none.
func netAddr(m ma.Multiaddr, id peer.ID) net.Addr {
	if len(m) > 2 {
		m = m[:2]
	}
	if a, err := manet.ToNetAddr(m); err == nil {
		return a
	}
	return peerAddr(id)
}
