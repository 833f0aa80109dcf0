package xmlrpc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filepeer/peer/transport"
)

// Defaults of Config.
const (
	DefaultCallTimeout       = 60 * time.Second
	DefaultStallTimeout      = 60 * time.Second
	DefaultMaxReplyBytes     = 16 << 30
	DefaultMaxRequestBytes   = 1 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
)

// ErrClosed is returned by calls on a transport after its Close.
var ErrClosed = errors.New("transport: closed")

// Config configures an XML-RPC transport. The zero value is ready to
// use.
type Config struct {
	// CallTimeout bounds the wait for a reply to begin, on top of the
	// caller's context: from sending the request to receiving the reply's
	// HTTP headers. The body that follows, a file of any size, is bounded
	// by StallTimeout instead, so a multi-GiB transfer is not cut off
	// while it moves. A node answers query as soon as it has the file in
	// hand, but answers fetch only once it has stored the file: raise
	// CallTimeout for fetches of large files. If zero, it is
	// DefaultCallTimeout (60s). If negative, only the caller's context
	// bounds the wait.
	CallTimeout time.Duration

	// StallTimeout bounds each wait for more of a reply's body: a read
	// that gets no byte for this long fails, so a peer that stops sending
	// in mid-file cannot hold a call forever. Time the caller spends
	// between reads does not count. If zero, it is DefaultStallTimeout
	// (60s). If negative, only the caller's context bounds the body.
	StallTimeout time.Duration

	// MaxReplyBytes caps the size of a reply, counted after gzip is
	// undone; a larger reply fails with an error as soon as it passes the
	// cap. If zero, it is DefaultMaxReplyBytes (16 GiB of XML: a file of
	// about 16 GiB as text, 12 GiB as base64).
	MaxReplyBytes int64

	// MaxRequestBytes caps the size of a request the server reads, after
	// gzip is undone. Requests carry only a name, a secret and a short
	// history. If zero, it is DefaultMaxRequestBytes (1 MiB).
	MaxRequestBytes int64

	// RoundTripper makes the outgoing HTTP requests. If nil, the transport
	// makes its own http.Transport that keeps connections alive, ignores
	// proxy settings (peers are reached directly), refuses to connect to
	// an address no peer can have (unspecified, link-local, multicast,
	// broadcast: a host name may resolve to one), opens at most 32
	// connections to one peer at a time (an eighth of
	// DefaultMaxConnsPerAddr: more calls wait their turn) and is closed by
	// Close.
	// Redirects are never followed either way.
	RoundTripper http.RoundTripper

	// ReadHeaderTimeout, ReadTimeout and IdleTimeout are the server's
	// http.Server timeouts. If zero, they are DefaultReadHeaderTimeout
	// (10s), DefaultReadTimeout (30s, for the small requests) and
	// DefaultIdleTimeout (120s). There is no write timeout: a reply may be
	// a large file. Negative means none.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration

	// ReplyStallTimeout bounds each write of a reply the server sends: a
	// client that reads nothing for this long is cut off, and the
	// reply's memory, file and connection freed. A client that keeps
	// reading may take as long as it needs. If zero, it is
	// DefaultReplyStallTimeout (30s); if negative, replies are not
	// timed.
	ReplyStallTimeout time.Duration

	// MaxConnsPerAddr caps the connections the server keeps open at
	// once from one client IP address; one over the cap is closed as
	// soon as it is accepted. As a connection carries one call at a
	// time, it caps the replies in flight to one address too. If zero,
	// it is DefaultMaxConnsPerAddr (64); if negative, there is no cap.
	MaxConnsPerAddr int

	// CertFile and KeyFile, if set, hold the PEM certificate (chain) and
	// key with which Listen serves https:// URLs. If empty, Listen
	// serves only http:// URLs.
	CertFile, KeyFile string

	// RootCAs verifies the certificates of https:// peers. If nil, the
	// system's pool does. It is used only when RoundTripper is nil.
	RootCAs *x509.CertPool

	// ErrorLog receives the HTTP server's own errors (such as failed
	// connections). If nil, they are discarded.
	ErrorLog *log.Logger
}

// Transport is the default transport: XML-RPC over HTTP, wire-compatible with
// Python's xmlrpc.client and xmlrpc.server, so that Go and Python nodes form
// one network. Safe for concurrent use.
type Transport struct {
	cfg Config
	// rt makes the calls. It is used directly rather than through an
	// http.Client, which would only add a redirect policy (a peer is its
	// URL: redirects are never followed) and a dozen allocations a call.
	rt  http.RoundTripper
	own *http.Transport // nil if cfg.RoundTripper was given

	// peers caches Dial's clients by URL, up to maxDialCache of them: a
	// node dials the peer it asks on every query it passes on, and
	// parsing the URL each time was a tenth of a relay hop's allocations.
	peers  sync.Map // string → *xmlrpcPeer
	npeers atomic.Int32

	mu sync.Mutex
	// guards closed
	closed bool
}

var _ transport.Transport = (*Transport)(nil)

// New returns an XML-RPC transport configured by cfg.
func New(cfg Config) *Transport {
	cfg.CallTimeout = orDefault(cfg.CallTimeout, DefaultCallTimeout)
	cfg.StallTimeout = orDefault(cfg.StallTimeout, DefaultStallTimeout)
	cfg.ReadHeaderTimeout = orDefault(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	cfg.ReadTimeout = orDefault(cfg.ReadTimeout, DefaultReadTimeout)
	cfg.IdleTimeout = orDefault(cfg.IdleTimeout, DefaultIdleTimeout)
	cfg.ReplyStallTimeout = orDefault(cfg.ReplyStallTimeout, DefaultReplyStallTimeout)
	if cfg.MaxConnsPerAddr == 0 {
		cfg.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	if cfg.MaxReplyBytes <= 0 {
		cfg.MaxReplyBytes = DefaultMaxReplyBytes
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = log.New(io.Discard, "", 0)
	}
	t := &Transport{cfg: cfg}
	rt := cfg.RoundTripper
	if rt == nil {
		t.own = &http.Transport{
			DialContext: (&net.Dialer{
				Timeout:   10 * time.Second,
				KeepAlive: 30 * time.Second,
				Control:   refuseNonPeerAddr,
			}).DialContext,
			MaxIdleConns:        100,
			MaxIdleConnsPerHost: 16,
			// Under the cap a peer puts on one address's connections
			// (MaxConnsPerAddr's default), so that a busy node's calls
			// wait for a connection rather than being cut off.
			MaxConnsPerHost:       DefaultMaxConnsPerAddr / 8,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
			// The client asks for gzip and undoes it itself, under the
			// reply cap.
			DisableCompression: true,
			ReadBufferSize:     ioChunk,
			WriteBufferSize:    ioChunk,
			TLSClientConfig:    &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
			// Peers speak HTTP/1.1, as Python does; a custom
			// TLSClientConfig turns HTTP/2 off anyway.
			ForceAttemptHTTP2: false,
		}
		rt = t.own
	}
	t.rt = rt
	return t
}

func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// Close closes the transport's idle connections, so that no keep-alive
// goroutine outlives it; calls and Dial after Close fail with ErrClosed.
// Servers started by Listen are closed by their own Closers. Close is safe
// to call more than once.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	if t.own != nil {
		t.own.CloseIdleConnections()
	}
	return nil
}

func (t *Transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// Listen serves p at url, an "http://host:port" URL, on host:port (port 80
// if none), or an "https://host:port" URL (port 443 if none) if the
// config has CertFile and KeyFile. On Unix the socket has SO_REUSEADDR, as Go's listeners always
// do, so a node can be restarted on its port at once. Port 0 picks a free
// port: the returned io.Closer then also has a URL method giving the URL
// with the real port. Calls are served under p's Context if p is a
// Contexter. Closing the listener cancels the calls being served, shuts
// the HTTP server down and waits for its goroutines. To share a server,
// mount NewHandler in an http.Server of your own.
func (t *Transport) Listen(rawURL string, p transport.Peer) (io.Closer, error) {
	if p == nil {
		return nil, errors.New("transport: listen: nil Peer")
	}
	if t.isClosed() {
		return nil, ErrClosed
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("transport: listen: %w", err)
	}
	var tlsCfg *tls.Config
	switch {
	case u.Scheme == "https" && t.cfg.CertFile != "":
		cert, err := tls.LoadX509KeyPair(t.cfg.CertFile, t.cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("transport: listen %s: %w", rawURL, err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	case u.Scheme == "https":
		return nil, fmt.Errorf("transport: listen %s: https:// needs Config.CertFile and KeyFile", rawURL)
	case u.Scheme != "http":
		return nil, fmt.Errorf("transport: listen %s: only http:// and https:// URLs can be served", rawURL)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if tlsCfg != nil {
			port = "443"
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, fmt.Errorf("transport: listen: %w", err)
	}
	l := &xmlrpcListener{url: rawURL, addr: ln.Addr()}
	if port == "0" {
		u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		l.url = u.String()
	}
	base := context.Background()
	if c, ok := p.(transport.Contexter); ok {
		base = c.Context()
	}
	var ctx context.Context
	ctx, l.cancel = context.WithCancel(base)
	h := newHandler(p, t.cfg.MaxRequestBytes, t.cfg.ReplyStallTimeout)
	l.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Counted so that Close can wait for handlers that
			// Shutdown gave up on.
			l.handlers.Add(1)
			defer l.handlers.Done()
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: t.cfg.ReadHeaderTimeout,
		ReadTimeout:       t.cfg.ReadTimeout,
		IdleTimeout:       t.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          t.cfg.ErrorLog,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		// One call a connection, as Python's client makes them, so
		// that MaxConnsPerAddr caps the calls too: no HTTP/2.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	ln = limitConns(ln, t.cfg.MaxConnsPerAddr)
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	l.serving.Add(1)
	go func() {
		defer l.serving.Done()
		l.srv.Serve(ln)
	}()
	return l, nil
}

// xmlrpcListener is a server started by Listen.
type xmlrpcListener struct {
	url      string
	addr     net.Addr
	srv      *http.Server
	cancel   context.CancelFunc
	serving  sync.WaitGroup // the Serve goroutine
	handlers sync.WaitGroup // running handlers
	once     sync.Once
}

// URL returns the URL served, with the real port if the one asked for was 0.
func (l *xmlrpcListener) URL() string { return l.url }

// Addr returns the address listened on.
func (l *xmlrpcListener) Addr() net.Addr { return l.addr }

// shutdownGrace is how long Close lets cancelled calls write their faults
// before it cuts their connections.
const shutdownGrace = 2 * time.Second

func (l *xmlrpcListener) Close() error {
	var err error
	l.once.Do(func() {
		l.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err = l.srv.Shutdown(ctx); err != nil {
			err = l.srv.Close()
		}
		l.serving.Wait()
		l.handlers.Wait()
	})
	return err
}

// Dial returns a client for the node at url, which must be an http:// or
// https:// URL. Like Python's ServerProxy, it posts to /RPC2 when the URL
// has no path. The client implements Lister too.
func (t *Transport) Dial(rawURL string) (transport.Peer, error) {
	if t.isClosed() {
		return nil, ErrClosed
	}
	if p, ok := t.peers.Load(rawURL); ok {
		return p.(*xmlrpcPeer), nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("transport: dial: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("transport: dial %q: not an http:// or https:// URL", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("transport: dial %q: no host", rawURL)
	}
	if u.Path == "" {
		u.Path = "/RPC2"
	}
	u.Fragment = ""
	p := &xmlrpcPeer{t: t, url: rawURL}
	p.proto = &http.Request{
		Method:     http.MethodPost,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     callHeader,
		Host:       u.Host,
	}
	// Any string may come to Dial (a hello checks its URL so), hence the
	// cap, which a node's own known peers stay well under.
	if t.npeers.Load() < maxDialCache {
		if _, loaded := t.peers.LoadOrStore(rawURL, p); !loaded {
			t.npeers.Add(1)
		}
	}
	return p, nil
}

// maxDialCache caps Transport.peers.
const maxDialCache = 256

// xmlrpcPeer is the client side of the XML-RPC transport.
type xmlrpcPeer struct {
	t   *Transport
	url string // as dialled, for errors
	// proto is every request's start, posted to proto.URL: a call
	// copies it with its context (the copy that WithContext must make
	// anyway) and adds the body. Never modified.
	proto *http.Request
}

var (
	_ transport.Lister = (*xmlrpcPeer)(nil)
	_ transport.Caller = (*xmlrpcPeer)(nil)
)

// callHeader is the header of every request. Requests share it: a
// RoundTripper must not modify a request. Every method of the protocol
// may be sent twice to no harm (a query, a hello, a fetch that finds the
// file placed): the empty Idempotency-Key, which is not sent, lets
// net/http send a call again on a fresh connection when a reused one was
// reset under it, so that one stale keep-alive connection does not fail
// a call and cost a working peer.
var callHeader = http.Header{
	"Content-Type":    {"text/xml"},
	"Accept-Encoding": {"gzip"},
	"User-Agent":      {"filepeer"},
	"Idempotency-Key": {},
}

// Errors of the transport's own time limits. They wrap
// context.DeadlineExceeded, as a deadline of the caller's would.
var (
	errHeaderTimeout = fmt.Errorf("no reply within the call timeout: %w", context.DeadlineExceeded)
	errStallTimeout  = fmt.Errorf("reply stalled for longer than the stall timeout: %w", context.DeadlineExceeded)
)

// xmlrpcCall is one call in flight: the request's context, the timer that
// enforces CallTimeout and StallTimeout, and the reply being decoded. It
// is one allocation, with its decoder and readers inside.
type xmlrpcCall struct {
	c      *xmlrpcPeer
	method string
	ctx    context.Context
	cancel context.CancelCauseFunc
	// timer cancels the call: CallTimeout after the request is sent
	// until the headers arrive, then StallTimeout during each read of
	// the body. nil if both are off.
	timer   *time.Timer
	reading atomic.Bool // the timer is timing a read of the body
	resp    *http.Response
	br      *bufio.Reader // pooled; nil once returned
	d       xmlDecoder
	cap     capReader
	body    stallReader
	// reqBody is the request's body, kept here to save an allocation. It
	// goes out as io.NopCloser of a *bytes.Reader, which net/http knows
	// to be in memory: a body of another type made it flush the headers
	// in a write of their own.
	reqBody bytes.Reader
	ended   atomic.Bool
}

// expire is the timer's function.
func (k *xmlrpcCall) expire() {
	if k.reading.Load() {
		k.cancel(errStallTimeout)
	} else {
		k.cancel(errHeaderTimeout)
	}
}

// end releases the call: it closes the reply, which frees the connection
// if the reply was read to its end and drops it otherwise, and stops the
// timer. It may be called more than once, from any goroutine.
func (k *xmlrpcCall) end() {
	if k.ended.Swap(true) {
		return
	}
	if k.timer != nil {
		k.timer.Stop()
	}
	if k.resp != nil {
		k.resp.Body.Close()
	}
	k.cancel(nil)
}

// recycle ends the call and returns its buffer to the pool. Only the
// goroutine that reads the reply may call it, once it is done reading:
// a Close racing a Read must not hand the buffer on.
func (k *xmlrpcCall) recycle() {
	k.end()
	if k.br != nil {
		br := k.br
		k.br, k.d.r = nil, nil
		br.Reset(nil)
		if br.Size() == ioChunk {
			bigReaders.Put(br)
		} else {
			smallReaders.Put(br)
		}
	}
}

// Readers for replies, pooled: a call allocated a new one each time, 64
// KiB for a file.
var (
	smallReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, smallReply) }}
	bigReaders   = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, ioChunk) }}
)

// smallReply is the buffer of a reply whose length says it is small.
const smallReply = 4 << 10

// fail ends the call with err, in the words of the call. The context is
// asked why it ended before end cancels it.
func (k *xmlrpcCall) fail(err error) error {
	err = fmt.Errorf("transport: %s %s: %w", k.method, k.c.url, ctxErr(k.ctx, err))
	k.end()
	return err
}

// stallReader reads a reply's body, timing each read with StallTimeout.
type stallReader struct {
	k     *xmlrpcCall
	r     io.Reader
	stall time.Duration // 0: untimed
}

func (s *stallReader) Read(p []byte) (int, error) {
	if s.stall <= 0 || s.k.ended.Load() {
		return s.r.Read(p)
	}
	s.k.reading.Store(true)
	s.k.timer.Reset(s.stall)
	n, err := s.r.Read(p)
	s.k.timer.Stop()
	return n, err
}

// call posts a request and returns the call, its reply's decoder ready.
// The caller must end or recycle it.
func (c *xmlrpcPeer) call(ctx context.Context, method string, args ...any) (*xmlrpcCall, error) {
	if c.t.isClosed() {
		return nil, ErrClosed
	}
	body, err := encodeCall(method, args...)
	if err != nil {
		return nil, fmt.Errorf("transport: %s %s: %w", method, c.url, err)
	}
	k := &xmlrpcCall{c: c, method: method}
	k.ctx, k.cancel = context.WithCancelCause(ctx)
	cfg := &c.t.cfg
	switch {
	case cfg.CallTimeout > 0:
		k.timer = time.AfterFunc(cfg.CallTimeout, k.expire)
	case cfg.StallTimeout > 0:
		// No wait for the headers is timed: the timer is made stopped,
		// for the reads of the body to arm.
		k.timer = time.AfterFunc(math.MaxInt64, k.expire)
		k.timer.Stop()
	}
	k.reqBody.Reset(body)
	req := c.proto.WithContext(k.ctx)
	req.Body = io.NopCloser(&k.reqBody)
	req.ContentLength = int64(len(body))
	// The transport may resend a request that it could not write on a
	// reused connection.
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	k.resp, err = c.t.rt.RoundTrip(req)
	if k.timer != nil {
		k.timer.Stop()
	}
	if err != nil {
		k.resp = nil
		return nil, k.fail(&url.Error{Op: "Post", URL: c.proto.URL.String(), Err: err})
	}
	resp := k.resp
	if resp.StatusCode != http.StatusOK {
		// Read a little so that the connection may be reused.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, k.fail(fmt.Errorf("HTTP %s (redirects are not followed)", cut(resp.Status, 128)))
	}
	maxReply := cfg.MaxReplyBytes
	if resp.ContentLength > maxReply {
		return nil, k.fail(fmt.Errorf("reply of %d bytes exceeds the cap of %d", resp.ContentLength, maxReply))
	}
	k.body = stallReader{k: k, r: resp.Body, stall: cfg.StallTimeout}
	var r io.Reader = &k.body
	// A small reply gets a small buffer: most calls are small.
	small := resp.ContentLength >= 0 && resp.ContentLength < smallReply
	switch enc := strings.ToLower(resp.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, k.fail(fmt.Errorf("gzip reply: %w", err))
		}
		r = zr
		small = false
	default:
		return nil, k.fail(fmt.Errorf("unsupported Content-Encoding %q", cut(enc, 64)))
	}
	k.cap = capReader{r: r, left: maxReply, max: maxReply}
	if small {
		k.br = smallReaders.Get().(*bufio.Reader)
	} else {
		k.br = bigReaders.Get().(*bufio.Reader)
	}
	k.br.Reset(&k.cap)
	k.d = xmlDecoder{r: k.br, budget: min(maxReply, DefaultMaxRequestBytes*64)}
	return k, nil
}

// smallCall makes a call whose reply is a small value.
func (c *xmlrpcPeer) smallCall(ctx context.Context, method string, args ...any) (any, error) {
	k, err := c.call(ctx, method, args...)
	if err != nil {
		return nil, err
	}
	defer k.recycle()
	f, err := k.d.replyStart()
	if err == nil && f != nil {
		return nil, f
	}
	var v any
	if err == nil {
		v, err = k.d.replyValue()
	}
	if err != nil {
		return nil, k.fail(err)
	}
	return v, nil
}

// ctxErr prefers the reason the context ended to the read error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	if cause := context.Cause(ctx); !errors.Is(err, cause) {
		return fmt.Errorf("%w (%v)", cause, err)
	}
	return err
}

// Query asks the node for the file name. The body streams from the wire;
// it implements Texter, true when the file came as a <string>.
func (c *xmlrpcPeer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	if history == nil {
		history = []string{}
	}
	return c.Open(ctx, "query", name, history)
}

// Call calls method and returns its result, decoded.
func (c *xmlrpcPeer) Call(ctx context.Context, method string, args ...any) (any, error) {
	return c.smallCall(ctx, method, args...)
}

// Open calls a method whose result is file contents, and streams them as
// Query does.
func (c *xmlrpcPeer) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	k, err := c.call(ctx, method, args...)
	if err != nil {
		return nil, err
	}
	f, err := k.d.replyStart()
	if err == nil && f != nil {
		k.recycle()
		return nil, f
	}
	var (
		r    io.Reader
		text bool
	)
	if err == nil {
		r, text, err = k.d.valueStream()
	}
	if err != nil {
		return nil, k.fail(err)
	}
	return &replyBody{r: r, text: text, k: k}, nil
}

// Hello tells the node about url.
func (c *xmlrpcPeer) Hello(ctx context.Context, url string) error {
	_, err := c.smallCall(ctx, "hello", url)
	return err
}

// Fetch asks the node to fetch name.
func (c *xmlrpcPeer) Fetch(ctx context.Context, name, secret string) error {
	_, err := c.smallCall(ctx, "fetch", name, secret)
	return err
}

// List asks the node for the names of its files.
func (c *xmlrpcPeer) List(ctx context.Context) ([]string, error) {
	v, err := c.smallCall(ctx, "list")
	if err != nil {
		return nil, err
	}
	vals, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("transport: list %s: reply is %T, not an array", c.url, v)
	}
	names := make([]string, 0, len(vals))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("transport: list %s: a name is %T, not a string", c.url, v)
		}
		names = append(names, s)
	}
	return names, nil
}

// replyBody is a query's file contents, decoded as they come off the wire.
// Read is not safe for concurrent use, as usual; Close may race a Read and
// ends it.
type replyBody struct {
	r      io.Reader
	text   bool
	k      *xmlrpcCall
	err    error // sticky
	closed atomic.Bool
}

func (b *replyBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errors.New("transport: read of a closed reply")
	}
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		b.err = io.EOF
		// The document is read to its end: free the connection for the
		// next call, and the buffer for the next reply.
		b.k.recycle()
	default:
		b.err = fmt.Errorf("transport: %s %s: %w", b.k.method, b.k.c.url, ctxErr(b.k.ctx, err))
	}
	if err != nil {
		return n, b.err
	}
	return n, nil
}

// IsText reports whether the file came as text (a <string> or an untyped
// value) rather than <base64>.
func (b *replyBody) IsText() bool { return b.text }

// Close ends the call, dropping the connection if the reply was not read
// to its end.
func (b *replyBody) Close() error {
	b.closed.Store(true)
	b.k.end()
	return nil
}

// capReader fails once more than max bytes are read.
type capReader struct {
	r         io.Reader
	left, max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a reply of exactly max bytes from a
		// longer one.
		var one [1]byte
		if n, err := c.r.Read(one[:]); n == 0 {
			return 0, err
		}
		return 0, fmt.Errorf("transport: reply exceeds %d bytes", c.max)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
