package libp2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// ProtocolID is the libp2p protocol of filepeer's calls: HTTP/1.1 carrying
// the XML-RPC protocol, one call at a time on a stream.
const ProtocolID protocol.ID = "/filepeer/xmlrpc/1.0.0"

// Config configures a Transport. The zero value works: a host with a new
// identity every time, listening nowhere until Listen.
type Config struct {
	// KeyFile names the file of the host's private key, read if it
	// exists and made if not (see LoadOrCreateKey). If empty, and Key is
	// nil, the host has a new random identity, and thus a new URL, each
	// time it starts.
	KeyFile string

	// Key is the host's private key, if the program keeps it itself. It
	// is an error to set both Key and KeyFile.
	Key crypto.PrivKey

	// ConnectionGater, if not nil, is asked about every connection the
	// host would make or accept, to allow, say, only some networks.
	ConnectionGater connmgr.ConnectionGater

	// CallTimeout and StallTimeout bound a call's wait for its reply to
	// begin, and each wait for more of its body, as the XML-RPC
	// transport's fields of the same names do. Zero means their defaults
	// (60s each); negative, no bound.
	CallTimeout, StallTimeout time.Duration

	// LocalDiscovery, if its Found is set, announces the host on the
	// local network by mDNS once it serves a node, and reports the
	// peers announced there (multicast on UDP port 5353: see
	// LocalDiscovery). The zero value is off: no multicast at all.
	LocalDiscovery LocalDiscovery
}

// Transport is a transport.Transport over libp2p: one host, with one
// identity, that serves one node (Listen) and dials any number. Safe for
// concurrent use.
type Transport struct {
	h      host.Host
	rt     *http.Transport
	client transport.Transport // XML-RPC over rt

	mu      sync.Mutex
	serving *listener // guarded by mu
	closed  bool      // guarded by mu

	local *finder // nil without Config.LocalDiscovery
}

var _ transport.Transport = (*Transport)(nil)

// New starts a libp2p host configured by cfg. It listens nowhere until
// Listen; Close stops it.
func New(cfg Config) (*Transport, error) {
	key := cfg.Key
	switch {
	case key != nil && cfg.KeyFile != "":
		return nil, errors.New("libp2p: Config.Key and Config.KeyFile are both set")
	case cfg.KeyFile != "":
		var err error
		if key, err = LoadOrCreateKey(cfg.KeyFile); err != nil {
			return nil, err
		}
	}
	if err := cfg.LocalDiscovery.check(); err != nil {
		return nil, err
	}
	opts := []libp2p.Option{
		// Listen only where Listen says.
		libp2p.NoListenAddrs,
		// No port reuse over TCP: a node's address is its own. With
		// it, a second host listened at a port another already
		// served, and connections to either went to one at random
		// (found by transporttest's "a second Listen" check). QUIC
		// keeps libp2p's shared sockets: without them, its sockets
		// outlived the host's Close (goleak).
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		// Nothing that reaches beyond the peers dialled: no relays, and
		// (by leaving their options out) no NAT port mapping, hole
		// punching, AutoNAT service or v2, nor any routing.
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.Ping(false),
	}
	if key != nil {
		opts = append(opts, libp2p.Identity(key))
	}
	if cfg.ConnectionGater != nil {
		opts = append(opts, libp2p.ConnectionGater(cfg.ConnectionGater))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("libp2p: start host: %w", err)
	}
	t := &Transport{h: h, local: newFinder(cfg.LocalDiscovery, h.ID())}
	t.rt = &http.Transport{
		Proxy:               nil,
		DialContext:         t.dialStream,
		MaxConnsPerHost:     32,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	t.client = newClient(t.rt, cfg.CallTimeout, cfg.StallTimeout)
	return t, nil
}

// ID returns the host's peer id.
func (t *Transport) ID() peer.ID { return t.h.ID() }

// Host returns the libp2p host, for a program that adds protocols of its
// own to it. It must not be closed but by Close.
func (t *Transport) Host() host.Host { return t.h }

// Addrs returns the host's addresses, as libp2p reports them.
func (t *Transport) Addrs() []ma.Multiaddr { return t.h.Addrs() }

// Listen serves p at url, a libp2p URL (see the package doc) whose peer
// id, if it has one, is the host's. The host listens at the URL's
// address; port 0 takes a free port, which the returned io.Closer's URL
// method tells. A Transport serves one Peer at a time. Calls are served
// under p's Context if p is a transport.Contexter. Closing the listener
// refuses new calls, cancels those being served and waits for them; the
// host itself keeps its address until Close, answering no call there, and
// a later Listen may serve another Peer.
func (t *Transport) Listen(url string, p transport.Peer) (io.Closer, error) {
	if p == nil {
		return nil, errors.New("libp2p: listen: nil Peer")
	}
	addr, id, err := parseURL(url)
	if err != nil {
		return nil, fmt.Errorf("libp2p: listen: %w", err)
	}
	if id != "" && id != t.h.ID() {
		return nil, fmt.Errorf("libp2p: listen %s: the URL's peer id is not this host's (%s)", short(url), t.h.ID())
	}
	if len(addr) == 0 {
		return nil, fmt.Errorf("libp2p: listen %s: no address to listen at", short(url))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return nil, xmlrpc.ErrClosed
	case t.serving != nil:
		return nil, fmt.Errorf("libp2p: listen %s: this transport serves %s already; one node per host", short(url), t.serving.url)
	}
	before := t.h.Network().ListenAddresses()
	if !slices.ContainsFunc(before, addr.Equal) {
		if err := t.h.Network().Listen(addr); err != nil {
			return nil, fmt.Errorf("libp2p: listen %s: %w", short(url), err)
		}
	}
	got := addr
	for _, a := range t.h.Network().ListenAddresses() {
		if !slices.ContainsFunc(before, a.Equal) {
			got = a
			break
		}
	}
	if err := t.local.start(t.h); err != nil {
		return nil, err
	}
	l := newListener(t, URL(got, t.h.ID()), p)
	t.serving = l
	return l, nil
}

// Dial returns a client for the node at url, a libp2p URL with a peer id.
// It does no I/O; the first call connects. The client implements
// transport.Lister and transport.Caller.
func (t *Transport) Dial(url string) (transport.Peer, error) {
	addr, id, err := ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("libp2p: dial: %w", err)
	}
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return nil, xmlrpc.ErrClosed
	}
	inner, err := t.client.Dial("http://" + hostLabel(id) + "/RPC2")
	if err != nil {
		return nil, fmt.Errorf("libp2p: dial %s: %w", short(url), err)
	}
	return &client{t: t, url: url, id: id, addr: addr, inner: inner, wire: "http://" + hostLabel(id) + "/RPC2"}, nil
}

// Close closes the served node's listener, if still open, and the host,
// which ends every connection. Calls after Close fail with
// xmlrpc.ErrClosed.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	l := t.serving
	t.mu.Unlock()
	errs := []error{t.local.close()}
	if l != nil {
		errs = append(errs, l.Close())
	}
	t.rt.CloseIdleConnections()
	if c, ok := t.client.(io.Closer); ok {
		errs = append(errs, c.Close())
	}
	errs = append(errs, t.h.Close())
	return errors.Join(errs...)
}

// dialStream is the http.Transport's dialer: the host of the request's
// URL names a peer id, to which it opens a stream.
func (t *Transport) dialStream(ctx context.Context, _, addr string) (net.Conn, error) {
	hostname, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	id, err := parseHostLabel(hostname)
	if err != nil {
		return nil, err
	}
	s, err := t.h.NewStream(ctx, id, ProtocolID)
	if err != nil {
		return nil, fmt.Errorf("libp2p: %s: %w: %w", id, transport.ErrUnreachable, err)
	}
	return streamConn{s}, nil
}

// client is the client side of Transport: the XML-RPC client's, after
// telling the host the peer's address.
type client struct {
	t     *Transport
	url   string
	id    peer.ID
	addr  ma.Multiaddr
	inner transport.Peer
	wire  string // the URL inner posts to
}

// named returns err with the libp2p URL where the XML-RPC client's
// message names the stand-in URL it posts to. A *transport.Fault, the
// peer's own word, is returned as it is.
func (c *client) named(err error) error {
	var f *transport.Fault
	if err == nil || errors.As(err, &f) {
		return err
	}
	msg := err.Error()
	if !strings.Contains(msg, c.wire) {
		return err
	}
	msg = strings.ReplaceAll(msg, `Post "`+c.wire+`"`, "call")
	return &namedError{err: err, msg: strings.ReplaceAll(msg, c.wire, short(c.url))}
}

// namedError is an error whose message names a peer by its libp2p URL.
type namedError struct {
	err error
	msg string
}

func (e *namedError) Error() string { return e.msg }
func (e *namedError) Unwrap() error { return e.err }

var (
	_ transport.Lister = (*client)(nil)
	_ transport.Caller = (*client)(nil)
)

// learn tells the host where the peer is, for the next hour: a call
// renews it, and a peer not called for longer is dialled afresh.
func (c *client) learn() {
	if len(c.addr) > 0 {
		c.t.h.Peerstore().AddAddr(c.id, c.addr, peerstore.AddressTTL)
	}
}

func (c *client) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	c.learn()
	body, err := c.inner.Query(ctx, name, history)
	return body, c.named(err)
}

func (c *client) Hello(ctx context.Context, url string) error {
	c.learn()
	return c.named(c.inner.Hello(ctx, url))
}

func (c *client) Fetch(ctx context.Context, name, secret string) error {
	c.learn()
	return c.named(c.inner.Fetch(ctx, name, secret))
}

func (c *client) List(ctx context.Context) ([]string, error) {
	l, ok := c.inner.(transport.Lister)
	if !ok {
		return nil, transport.UnknownMethod("list")
	}
	c.learn()
	names, err := l.List(ctx)
	return names, c.named(err)
}

func (c *client) Call(ctx context.Context, method string, args ...any) (any, error) {
	cl, ok := c.inner.(transport.Caller)
	if !ok {
		return nil, transport.UnknownMethod(method)
	}
	c.learn()
	v, err := cl.Call(ctx, method, args...)
	return v, c.named(err)
}

func (c *client) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	cl, ok := c.inner.(transport.Caller)
	if !ok {
		return nil, transport.UnknownMethod(method)
	}
	c.learn()
	body, err := cl.Open(ctx, method, args...)
	return body, c.named(err)
}

// streamConn is a libp2p stream as a net.Conn. Its remote address is the
// IP address and port of the connection under it, so that a served call's
// transport.CallerAddr is the caller's IP, as over XML-RPC.
type streamConn struct{ network.Stream }

func (c streamConn) LocalAddr() net.Addr {
	return netAddr(c.Conn().LocalMultiaddr(), c.Conn().LocalPeer())
}

func (c streamConn) RemoteAddr() net.Addr {
	return netAddr(c.Conn().RemoteMultiaddr(), c.Conn().RemotePeer())
}

var _ net.Conn = streamConn{}

// URL returns the URL of the node the transport serves, with its real
// port, or "" if it serves none.
func (t *Transport) URL() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.serving == nil {
		return ""
	}
	return t.serving.url
}
