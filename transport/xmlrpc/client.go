package xmlrpc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/filepeer/peer/transport"
)

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
// file placed): the transport's own client sends a call again on a fresh
// connection when a reused one was reset under it, so that one stale
// keep-alive connection does not fail a call and cost a working peer; the
// empty Idempotency-Key, which is not sent, lets an http.Transport given
// as Config.RoundTripper do the same.
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
	// the body. nil if both are off. It is set once for each, and the
	// reads of the body only note when they start: when it fires during
	// the body, it looks at the read in progress and goes off or sets
	// itself again (see expire). (A reset before each read and a stop
	// after it woke the runtime's poller once a call or more.)
	timer *time.Timer
	start time.Time    // when the call began, for readSince
	stall atomic.Int64 // StallTimeout once the headers are in; 0 before
	// reading says a read of the body is in progress, which began at
	// readSince (nanoseconds since start).
	reading   atomic.Bool
	readSince atomic.Int64
	resp      *http.Response
	br        *bufio.Reader // pooled; nil once returned
	d         xmlDecoder
	cap       capReader
	body      stallReader
	// reqBody is the request's body, kept here to save an allocation. It
	// goes out as io.NopCloser of a *bytes.Reader, which net/http knows
	// to be in memory: a body of another type made it flush the headers
	// in a write of their own.
	reqBody bytes.Reader
	ended   atomic.Bool
}

// expire is the timer's function.
func (k *xmlrpcCall) expire() {
	stall := time.Duration(k.stall.Load())
	switch {
	case k.ended.Load():
	case stall == 0:
		k.cancel(errHeaderTimeout)
	case !k.reading.Load():
		k.timer.Reset(stall) // between reads, which do not count
	default:
		left := stall - (time.Since(k.start) - time.Duration(k.readSince.Load()))
		if left <= 0 {
			k.cancel(errStallTimeout)
		} else {
			k.timer.Reset(left)
		}
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
	s.k.readSince.Store(int64(time.Since(s.k.start)))
	s.k.reading.Store(true)
	n, err := s.r.Read(p)
	s.k.reading.Store(false)
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
	if cfg.CallTimeout > 0 {
		k.start = time.Now()
		k.timer = time.AfterFunc(cfg.CallTimeout, k.expire)
	}
	k.reqBody.Reset(body)
	req := c.proto.WithContext(k.ctx)
	req.Body = io.NopCloser(&k.reqBody)
	req.ContentLength = int64(len(body))
	// The transport may resend a request that it could not write on a
	// reused connection.
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	k.resp, err = c.t.rt.RoundTrip(req)
	switch {
	case err != nil || cfg.StallTimeout <= 0:
		if k.timer != nil {
			k.timer.Stop()
		}
	case k.timer != nil:
		// From here on, when it fires, it times the read in progress.
		k.stall.Store(int64(cfg.StallTimeout))
		k.timer.Reset(cfg.StallTimeout)
	default:
		// Made before it is set, so that expire always finds it.
		k.start = time.Now()
		k.timer = time.AfterFunc(math.MaxInt64, k.expire)
		k.stall.Store(int64(cfg.StallTimeout))
		k.timer.Reset(cfg.StallTimeout)
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
// it implements Texter, true when the file came as a <string>, and
// Encoded.
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
	var body contents
	if err == nil {
		body, err = k.d.valueStart()
	}
	if err != nil {
		return nil, k.fail(err)
	}
	return &replyBody{c: body, k: k}, nil
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

// replyBody is a query's file contents, decoded as they come off the wire,
// or handed over still encoded (Encoded). Read is not safe for concurrent
// use, as usual; Close may race a Read and ends it.
type replyBody struct {
	c      contents
	r      io.Reader // c.decoded() or c.encoded(), made by the first read
	k      *xmlrpcCall
	err    error // sticky
	closed atomic.Bool
}

var _ transport.Encoded = (*replyBody)(nil)

func (b *replyBody) Read(p []byte) (int, error) {
	if b.r == nil {
		b.r = b.c.decoded()
	}
	return b.read(p)
}

// read reads from b.r, ending the call at the end of the document.
func (b *replyBody) read(p []byte) (int, error) {
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
func (b *replyBody) IsText() bool { return b.c.text }

// Encoding is EncodingText for a file that came as text, EncodingBase64
// otherwise.
func (b *replyBody) Encoding() string {
	if b.c.text {
		return EncodingText
	}
	return EncodingBase64
}

// Encoded returns the contents in Encoding, checked as they are read
// (see passthrough.go); after a Read, it returns a reader that fails.
func (b *replyBody) Encoded() io.Reader {
	if b.r != nil {
		return failedReader{errors.New("transport: Encoded after Read")}
	}
	b.r = b.c.encoded()
	return encodedReader{b}
}

// encodedReader reads a replyBody's contents as Encoded gives them.
type encodedReader struct{ b *replyBody }

func (e encodedReader) Read(p []byte) (int, error) { return e.b.read(p) }

// failedReader fails every read with err.
type failedReader struct{ err error }

func (f failedReader) Read([]byte) (int, error) { return 0, f.err }

// Close ends the call, dropping the connection if the reply was not read
// to its end.
func (b *replyBody) Close() error {
	b.closed.Store(true)
	b.k.end()
	return nil
}
