package transport

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of XMLRPCConfig.
const (
	DefaultCallTimeout       = 60 * time.Second
	DefaultMaxReplyBytes     = 16 << 30
	DefaultMaxRequestBytes   = 1 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
)

// ErrClosed is returned by calls on a transport after its Close.
var ErrClosed = errors.New("transport: closed")

// XMLRPCConfig configures an XML-RPC transport. The zero value is ready to
// use.
type XMLRPCConfig struct {
	// CallTimeout bounds every outgoing call, from sending the request to
	// reading the last byte of the reply, on top of the caller's context.
	// If zero, it is DefaultCallTimeout (60s): enough for a large file on
	// a LAN, so raise it for large files over slow links. If negative,
	// only the caller's context bounds a call.
	CallTimeout time.Duration

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
	// proxy settings (peers are reached directly) and is closed by Close.
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

	// ErrorLog receives the HTTP server's own errors (such as failed
	// connections). If nil, they are discarded.
	ErrorLog *log.Logger
}

// XMLRPC is the default transport: XML-RPC over HTTP, wire-compatible with
// Python's xmlrpc.client and xmlrpc.server, so that Go and Python nodes form
// one network. Safe for concurrent use.
type XMLRPC struct {
	cfg    XMLRPCConfig
	client *http.Client
	own    *http.Transport // nil if cfg.RoundTripper was given

	mu sync.Mutex
	// guards closed
	closed bool
}

var _ Transport = (*XMLRPC)(nil)

// NewXMLRPC returns an XML-RPC transport configured by cfg.
func NewXMLRPC(cfg XMLRPCConfig) *XMLRPC {
	cfg.CallTimeout = orDefault(cfg.CallTimeout, DefaultCallTimeout)
	cfg.ReadHeaderTimeout = orDefault(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	cfg.ReadTimeout = orDefault(cfg.ReadTimeout, DefaultReadTimeout)
	cfg.IdleTimeout = orDefault(cfg.IdleTimeout, DefaultIdleTimeout)
	if cfg.MaxReplyBytes <= 0 {
		cfg.MaxReplyBytes = DefaultMaxReplyBytes
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = log.New(io.Discard, "", 0)
	}
	t := &XMLRPC{cfg: cfg}
	rt := cfg.RoundTripper
	if rt == nil {
		t.own = &http.Transport{
			DialContext: (&net.Dialer{
				Timeout:   10 * time.Second,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
			// The client asks for gzip and undoes it itself, under the
			// reply cap.
			DisableCompression: true,
			ReadBufferSize:     ioChunk,
			WriteBufferSize:    ioChunk,
		}
		rt = t.own
	}
	t.client = &http.Client{
		Transport: rt,
		// A peer is its URL: a redirect to elsewhere is not that peer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
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
func (t *XMLRPC) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	if t.own != nil {
		t.own.CloseIdleConnections()
	}
	return nil
}

func (t *XMLRPC) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// Listen serves p at url, an "http://host:port" URL, on host:port (port 80
// if none). On Unix the socket has SO_REUSEADDR, as Go's listeners always
// do, so a node can be restarted on its port at once. Port 0 picks a free
// port: the returned io.Closer then also has a URL method giving the URL
// with the real port. Closing it cancels the calls being served, shuts the
// HTTP server down and waits for its goroutines. For HTTPS, or to share a
// server, mount NewXMLRPCHandler in an http.Server of your own.
func (t *XMLRPC) Listen(rawURL string, p Peer) (io.Closer, error) {
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
	if u.Scheme != "http" {
		return nil, fmt.Errorf("transport: listen %s: only http:// URLs can be served (mount NewXMLRPCHandler for more)", rawURL)
	}
	port := u.Port()
	if port == "" {
		port = "80"
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
	var ctx context.Context
	ctx, l.cancel = context.WithCancel(context.Background())
	h := newXMLRPCHandler(p, t.cfg.MaxRequestBytes)
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
func (t *XMLRPC) Dial(rawURL string) (Peer, error) {
	if t.isClosed() {
		return nil, ErrClosed
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
	return &xmlrpcPeer{t: t, url: rawURL, endpoint: u.String()}, nil
}

// xmlrpcPeer is the client side of the XML-RPC transport.
type xmlrpcPeer struct {
	t        *XMLRPC
	url      string // as dialled, for errors
	endpoint string // where requests are posted
}

var _ Lister = (*xmlrpcPeer)(nil)

// call posts a request and returns a decoder for the reply, with the
// call's context (under the transport's CallTimeout). The caller must call
// done, which may be called more than once, when it has read the reply.
func (c *xmlrpcPeer) call(ctx context.Context, method string, args ...any) (d *xmlDecoder, callCtx context.Context, done func(), err error) {
	if c.t.isClosed() {
		return nil, nil, nil, ErrClosed
	}
	body, err := encodeCall(method, args...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("transport: %s %s: %w", method, c.url, err)
	}
	cancel := context.CancelFunc(func() {})
	if c.t.cfg.CallTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.t.cfg.CallTimeout)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, nil, nil, fmt.Errorf("transport: %s %s: %w", method, c.url, err)
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("User-Agent", "filepeer")
	resp, err := c.t.client.Do(req)
	if err != nil {
		cancel()
		return nil, nil, nil, fmt.Errorf("transport: %s %s: %w", method, c.url, err)
	}
	done = sync.OnceFunc(func() {
		resp.Body.Close()
		cancel()
	})
	fail := func(err error) (*xmlDecoder, context.Context, func(), error) {
		done()
		return nil, nil, nil, fmt.Errorf("transport: %s %s: %w", method, c.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		// Read a little so that the connection may be reused.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fail(fmt.Errorf("HTTP %s (redirects are not followed)", resp.Status))
	}
	maxReply := c.t.cfg.MaxReplyBytes
	if resp.ContentLength > maxReply {
		return fail(fmt.Errorf("reply of %d bytes exceeds the cap of %d", resp.ContentLength, maxReply))
	}
	// A small reply gets a small buffer: most calls are small.
	bufSize := ioChunk
	if resp.ContentLength >= 0 && resp.ContentLength < ioChunk {
		bufSize = max(int(resp.ContentLength)+1, 512)
	}
	var r io.Reader = resp.Body
	switch enc := strings.ToLower(resp.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return fail(fmt.Errorf("gzip reply: %w", err))
		}
		r = zr
		bufSize = ioChunk
	default:
		return fail(fmt.Errorf("unsupported Content-Encoding %q", enc))
	}
	r = &capReader{r: r, left: maxReply, max: maxReply}
	d = newXMLDecoder(bufio.NewReaderSize(r, bufSize), min(maxReply, DefaultMaxRequestBytes*64))
	return d, ctx, done, nil
}

// smallCall makes a call whose reply is a small value.
func (c *xmlrpcPeer) smallCall(ctx context.Context, method string, args ...any) (any, error) {
	d, ctx, done, err := c.call(ctx, method, args...)
	if err != nil {
		return nil, err
	}
	defer done()
	f, err := d.replyStart()
	if err == nil && f != nil {
		return nil, f
	}
	var v any
	if err == nil {
		v, err = d.replyValue()
	}
	if err != nil {
		return nil, fmt.Errorf("transport: %s %s: %w", method, c.url, ctxErr(ctx, err))
	}
	return v, nil
}

// ctxErr prefers the context's error to the read error it caused.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// Query asks the node for the file name. The body streams from the wire;
// it implements Texter, true when the file came as a <string>.
func (c *xmlrpcPeer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	if history == nil {
		history = []string{}
	}
	d, ctx, done, err := c.call(ctx, "query", name, history)
	if err != nil {
		return nil, err
	}
	f, err := d.replyStart()
	if err == nil && f != nil {
		done()
		return nil, f
	}
	var (
		r    io.Reader
		text bool
	)
	if err == nil {
		r, text, err = d.valueStream()
	}
	if err != nil {
		done()
		return nil, fmt.Errorf("transport: query %s: %w", c.url, ctxErr(ctx, err))
	}
	return &replyBody{r: r, text: text, done: done, ctx: ctx, url: c.url}, nil
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
	done   func() // idempotent
	ctx    context.Context
	url    string
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
		// next call.
		b.done()
	default:
		b.err = fmt.Errorf("transport: query %s: %w", b.url, ctxErr(b.ctx, err))
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
	b.done()
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
