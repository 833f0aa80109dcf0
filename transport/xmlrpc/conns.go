package xmlrpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// connPool is the transport's own http.RoundTripper: HTTP/1.1 over
// keep-alive connections pooled by peer, each call written and its reply
// read on the caller's goroutine. http.Transport hands every call to two
// goroutines of its own a connection and back: on a 5-hop chain of node
// processes sharing two cores, it made the chain 7-9% slower (go run
// ./bench -only chain, side by side: 1,112-1,149 us against 1,221-1,225
// us).
//
// It keeps at most maxIdlePerPeer idle connections a peer and maxIdle in
// all, drops one idle for longer than idleFor, and opens at most
// maxConnsPerPeer at once to one peer: more calls wait their turn. A call
// that fails on a reused connection before any byte of the reply came is
// made once more on a new one: the peer may have closed it while idle, and
// every method of the protocol may be sent twice to no harm.
type connPool struct {
	dialer net.Dialer
	tls    *tls.Config

	mu sync.Mutex
	// guards the fields below
	peers  map[string]*peerConns // by scheme and host:port
	idle   int                   // idle connections in all
	closed bool
}

const (
	maxIdlePerPeer  = 16
	maxIdle         = 100
	maxConnsPerPeer = DefaultMaxConnsPerAddr / 8 // under a peer's cap on one address, so that calls wait rather than being cut off
	idleFor         = 90 * time.Second
)

// peerConns are the connections to one peer.
type peerConns struct {
	idle    []*clientConn // the most recently used last
	open    int           // idle, in use or being dialled
	waiting []chan *clientConn
}

// clientConn is one connection to a peer.
type clientConn struct {
	key    string
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	in     limitedIn
	usedAt time.Time
}

// limitedIn reads the connection for br, counting the bytes read and
// failing past left while a reply's head is read.
type limitedIn struct {
	c     net.Conn
	read  int64
	left  int64
	limit bool
}

var errReplyHeader = fmt.Errorf("reply's status line and headers exceed %d bytes", maxReplyHeader)

func (l *limitedIn) Read(p []byte) (int, error) {
	if l.limit {
		if l.left <= 0 {
			return 0, errReplyHeader
		}
		p = p[:min(int64(len(p)), l.left)]
	}
	n, err := l.c.Read(p)
	l.read += int64(n)
	if l.limit {
		l.left -= int64(n)
	}
	return n, err
}

func newConnPool(rootCAs *tls.Config) *connPool {
	return &connPool{
		dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: refuseNonPeerAddr},
		tls:    rootCAs,
		peers:  make(map[string]*peerConns),
	}
}

// RoundTrip makes one call. The reply's body must be read to its end or
// closed; closing it early drops the connection.
func (p *connPool) RoundTrip(req *http.Request) (*http.Response, error) {
	key, addr, err := peerKey(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	c, reused, err := p.get(ctx, key, addr, req.URL.Hostname(), false)
	if err != nil {
		return nil, err
	}
	resp, err := p.exchange(ctx, c, req)
	if err != nil && reused && c.in.read == 0 && req.GetBody != nil && ctx.Err() == nil {
		// The peer closed the idle connection under the call, or it
		// was reset: once more, on a new one.
		body, gerr := req.GetBody()
		if gerr != nil {
			return nil, err
		}
		again := *req
		again.Body = body
		req = &again
		if c, _, err = p.get(ctx, key, addr, req.URL.Hostname(), true); err != nil {
			return nil, err
		}
		resp, err = p.exchange(ctx, c, req)
	}
	return resp, err
}

// exchange writes req on c and reads the reply's head. On an error, c is
// closed.
func (p *connPool) exchange(ctx context.Context, c *clientConn, req *http.Request) (*http.Response, error) {
	// A cancelled call cuts its connection's reads and writes short;
	// the connection is then closed, never reused.
	cut := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	c.in.read = 0
	err := writeRequest(c.bw, req)
	if err == nil {
		err = c.bw.Flush()
	}
	var resp *http.Response
	if err == nil {
		c.in.limit, c.in.left = true, maxReplyHeader
		resp, err = readResponse(c.br, req)
		c.in.limit = false
	}
	if err != nil {
		cut()
		p.drop(c)
		return nil, err
	}
	resp.Body = &connBody{p: p, c: c, r: resp.Body, cut: cut, keep: !resp.Close}
	return resp, nil
}

// connBody is a reply's body. Reading it to its end frees the connection
// for the next call; closing it before then drops the connection. Close
// may race a Read, and ends it.
type connBody struct {
	p    *connPool
	c    *clientConn
	r    io.ReadCloser
	cut  func() bool
	keep bool
	end  atomic.Int32 // bodyOpen, bodyRead or bodyClosed
}

const (
	bodyOpen = iota
	bodyRead
	bodyClosed
)

func (b *connBody) Read(q []byte) (int, error) {
	switch b.end.Load() {
	case bodyRead:
		return 0, io.EOF
	case bodyClosed:
		return 0, errBodyClosed
	}
	n, err := b.r.Read(q)
	if err == io.EOF {
		b.finish(bodyRead)
	}
	return n, err
}

var errBodyClosed = errors.New("transport: read of a closed reply")

// Close drops the connection unless the body was read to its end. It
// never reads what is left: a reply may be gigabytes.
func (b *connBody) Close() error {
	b.finish(bodyClosed)
	return nil
}

func (b *connBody) finish(end int32) {
	if !b.end.CompareAndSwap(bodyOpen, end) {
		return
	}
	if b.cut() && end == bodyRead && b.keep {
		b.p.put(b.c)
		return
	}
	b.p.drop(b.c)
}

// peerKey returns the pool's key for req's peer and the address to dial.
func peerKey(req *http.Request) (key, addr string, err error) {
	u := req.URL
	port := u.Port()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("unsupported scheme %q", u.Scheme)
	case u.Host == "":
		return "", "", errors.New("no host")
	case port == "" && u.Scheme == "http":
		port = "80"
	case port == "":
		port = "443"
	}
	addr = net.JoinHostPort(u.Hostname(), port)
	return u.Scheme + "://" + addr, addr, nil
}

// get returns an idle connection to the peer (unless fresh) or a new one,
// waiting while maxConnsPerPeer are open. reused says the connection had
// served a call.
func (p *connPool) get(ctx context.Context, key, addr, host string, fresh bool) (c *clientConn, reused bool, err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, ErrClosed // the Transport's Close closed it
	}
	pc := p.peers[key]
	if pc == nil {
		pc = &peerConns{}
		p.peers[key] = pc
	}
	now := time.Now()
	for !fresh && len(pc.idle) > 0 {
		c := pc.idle[len(pc.idle)-1]
		pc.idle = pc.idle[:len(pc.idle)-1]
		p.idle--
		if now.Sub(c.usedAt) < idleFor {
			p.mu.Unlock()
			return c, true, nil
		}
		pc.open--
		c.conn.Close()
	}
	if pc.open < maxConnsPerPeer {
		pc.open++
		p.mu.Unlock()
		c, err := p.connect(ctx, key, addr, host)
		return c, false, err
	}
	// Wait for a connection to be freed (it comes over the channel) or
	// closed (nil comes: its turn is ours, to dial).
	ready := make(chan *clientConn, 1)
	pc.waiting = append(pc.waiting, ready)
	p.mu.Unlock()
	select {
	case c := <-ready:
		if c != nil && !fresh {
			return c, true, nil
		}
		if c != nil {
			c.conn.Close() // its turn is ours
		}
		c, err := p.connect(ctx, key, addr, host)
		return c, false, err
	case <-ctx.Done():
		p.mu.Lock()
		for i, w := range pc.waiting {
			if w == ready {
				pc.waiting = append(pc.waiting[:i], pc.waiting[i+1:]...)
				p.mu.Unlock()
				return nil, false, ctx.Err()
			}
		}
		p.mu.Unlock()
		// Handed a turn as the call ended: pass it on.
		if c := <-ready; c != nil {
			p.put(c)
		} else {
			p.release(key)
		}
		return nil, false, ctx.Err()
	}
}

// connect dials the peer for a connection already counted open.
func (p *connPool) connect(ctx context.Context, key, addr, host string) (*clientConn, error) {
	conn, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err == nil && strings.HasPrefix(key, "https:") {
		cfg := p.tls.Clone()
		cfg.ServerName = host
		tc := tls.Client(conn, cfg)
		if err = tc.HandshakeContext(ctx); err != nil {
			conn.Close()
		}
		conn = tc
	}
	if err != nil {
		p.release(key)
		return nil, err
	}
	c := &clientConn{key: key, conn: conn, bw: bufio.NewWriterSize(conn, smallReply)}
	c.in.c = conn
	c.br = bufio.NewReaderSize(&c.in, ioChunk)
	return c, nil
}

// put returns a connection whose reply was read to its end: to a call
// waiting for one, or to the idle ones.
func (p *connPool) put(c *clientConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc := p.peers[c.key]
	if len(pc.waiting) > 0 {
		w := pc.waiting[0]
		pc.waiting = pc.waiting[1:]
		w <- c
		return
	}
	if p.closed || len(pc.idle) >= maxIdlePerPeer || p.idle >= maxIdle {
		pc.open--
		c.conn.Close()
		return
	}
	c.usedAt = time.Now()
	pc.idle = append(pc.idle, c)
	p.idle++
}

// drop closes a connection that cannot be reused.
func (p *connPool) drop(c *clientConn) {
	c.conn.Close()
	p.release(c.key)
}

// release counts a connection to the peer closed, and gives its turn to
// a waiting call.
func (p *connPool) release(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc := p.peers[key]
	if len(pc.waiting) > 0 {
		w := pc.waiting[0]
		pc.waiting = pc.waiting[1:]
		w <- nil
		return
	}
	pc.open--
	if pc.open == 0 && len(pc.idle) == 0 {
		delete(p.peers, key)
	}
}

// close closes the idle connections; those in use are closed as their
// calls end. Calls made after it fail.
func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for key, pc := range p.peers {
		for _, c := range pc.idle {
			c.conn.Close()
			pc.open--
		}
		p.idle -= len(pc.idle)
		pc.idle = nil
		if pc.open == 0 {
			delete(p.peers, key)
		}
	}
}
