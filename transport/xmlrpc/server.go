package xmlrpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// server is Listen's HTTP/1.1 server: each connection's requests are read
// (readRequest, httphead.go) and served one at a time
// on the connection's goroutine, and nothing else runs for a call that
// ends within watchAfter. http.Server reads each connection in a second
// goroutine while its handler runs, to see the client go, and hands
// every call over to it and back. Here a call still running after
// watchAfter gets that watch, so that a client that goes still ends the
// call's context: one goroutine, the watcher, looks for such calls every
// watchAfter while calls come, and stops when none has come for
// watcherRest. Against http.Server, side by side (go run ./bench): a
// small query 107-119 us against 130-131, a 5-hop chain 5-10% faster; a
// timer a call in the watcher's place cost the chain 5-12%.
type server struct {
	h          http.Handler
	base       context.Context
	readHeader time.Duration // 0: none
	read       time.Duration
	idle       time.Duration
	log        *log.Logger

	mu sync.Mutex
	// guards the fields below, and each serverConn's watch
	conns    map[*serverConn]bool // true while serving a request
	closing  bool
	watching bool           // the watcher runs
	wg       sync.WaitGroup // the connections', the watcher's and the watches' goroutines
}

const (
	// watchAfter is how long a call runs before the server watches its
	// connection for the client going, and how often the watcher looks.
	watchAfter = 5 * time.Millisecond
	// watcherRest is how long the watcher runs on with no calls.
	watcherRest = 100 * watchAfter
	// maxDrain is the most of an unread request body read after the
	// handler, to keep the connection; beyond it, the connection closes.
	maxDrain = 256 << 10
)

func newServer(h http.Handler, base context.Context, cfg *Config) *server {
	return &server{
		h: h, base: base,
		readHeader: cfg.ReadHeaderTimeout, read: cfg.ReadTimeout, idle: cfg.IdleTimeout,
		log:   cfg.ErrorLog,
		conns: make(map[*serverConn]bool),
	}
}

// serve accepts connections on l until it fails (it is closed).
func (s *server) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) {
				time.Sleep(10 * time.Millisecond) // out of descriptors or memory: let some go
				continue
			}
			return
		}
		sc := &serverConn{s: s, conn: c}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[sc] = false
		s.wg.Add(1)
		s.mu.Unlock()
		go sc.serve()
	}
}

// shutdown lets the requests being served end, for as long as ctx lets
// them, closing each connection once it is idle; then it closes those
// left, and waits for their goroutines. The listener must be closed
// first.
func (s *server) shutdown(ctx context.Context) {
	s.mu.Lock()
	s.closing = true
	for sc, busy := range s.conns {
		if !busy {
			sc.conn.Close()
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	s.mu.Lock()
	for sc := range s.conns {
		sc.conn.Close()
	}
	s.mu.Unlock()
	<-done
}

// serverConn is one client's connection.
type serverConn struct {
	s    *server
	conn net.Conn
	in   headLimit
	br   *bufio.Reader
	bw   *bufio.Writer
	// ahead is what a watch read ahead: the start of the next request.
	ahead []byte
	// watch is the watch of the call being served, nil between calls.
	watch *watch
}

// headLimit reads the connection for the server's bufio.Reader: first
// what the watch read ahead, then the connection, failing past left while
// a request's head is read.
type headLimit struct {
	sc    *serverConn
	left  int
	limit bool
}

var errRequestHead = errors.New("request head too large")

func (l *headLimit) Read(p []byte) (int, error) {
	if len(l.sc.ahead) > 0 {
		n := copy(p, l.sc.ahead)
		l.sc.ahead = l.sc.ahead[n:]
		return n, nil
	}
	if l.limit {
		if l.left <= 0 {
			return 0, errRequestHead
		}
		p = p[:min(len(p), l.left)]
	}
	n, err := l.sc.conn.Read(p)
	if l.limit {
		l.left -= n
	}
	return n, err
}

func (sc *serverConn) serve() {
	s := sc.s
	defer s.wg.Done()
	defer func() {
		sc.conn.Close()
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
	}()
	if tc, ok := sc.conn.(*tls.Conn); ok {
		if s.readHeader > 0 {
			tc.SetDeadline(time.Now().Add(s.readHeader))
		}
		if err := tc.HandshakeContext(s.base); err != nil {
			s.log.Printf("transport: TLS handshake from %s: %v", sc.conn.RemoteAddr(), err)
			return
		}
		tc.SetDeadline(time.Time{})
	}
	sc.in.sc = sc
	sc.br = bufio.NewReaderSize(&sc.in, smallReply)
	sc.bw = bufio.NewWriterSize(sc.conn, smallReply)
	for first := true; ; first = false {
		// Idle until the request's first byte: for the first request,
		// under the header timeout; between requests, the idle one.
		// An idle connection is closed at once by shutdown.
		wait := s.idle
		if first {
			wait = s.readHeader
		}
		if wait > 0 {
			sc.conn.SetReadDeadline(time.Now().Add(wait))
		} else {
			sc.conn.SetReadDeadline(time.Time{})
		}
		sc.in.limit, sc.in.left = true, maxRequestHead
		if _, err := sc.br.Peek(1); err != nil {
			return
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			return
		}
		s.conns[sc] = true
		s.mu.Unlock()
		if !sc.serveOne() {
			return
		}
		s.mu.Lock()
		s.conns[sc] = false
		closing := s.closing
		s.mu.Unlock()
		if closing {
			return
		}
	}
}

// serveOne reads and serves one request, and says whether the connection
// may carry another.
func (sc *serverConn) serveOne() bool {
	s := sc.s
	start := time.Now()
	switch {
	case s.readHeader > 0:
		sc.conn.SetReadDeadline(start.Add(s.readHeader))
	case s.read > 0:
		sc.conn.SetReadDeadline(start.Add(s.read))
	default:
		sc.conn.SetReadDeadline(time.Time{})
	}
	req, err := readRequest(sc.br) // under the head's limit, set before the first byte
	sc.in.limit = false
	if err != nil {
		var (
			he *headError
			ne net.Error
		)
		switch {
		case errors.Is(err, io.EOF):
		case errors.As(err, &he):
			sc.refuse(he.status)
		case errors.Is(err, errRequestHead):
			sc.refuse(http.StatusRequestHeaderFieldsTooLarge)
		case !errors.As(err, &ne):
			sc.refuse(http.StatusBadRequest)
		}
		return false
	}
	if req.ProtoAtLeast(1, 1) && req.Host == "" {
		sc.refuse(http.StatusBadRequest) // a request of HTTP/1.1 names its Host
		return false
	}
	if e := req.Header.Get("Expect"); e != "" && !strings.EqualFold(e, "100-continue") {
		sc.refuse(http.StatusExpectationFailed)
		return false
	}
	if s.read > 0 && s.readHeader > 0 && req.ContentLength != 0 {
		sc.conn.SetReadDeadline(start.Add(s.read))
	}
	ctx, cancel := context.WithCancel(s.base)
	req = req.WithContext(ctx)
	req.RemoteAddr = sc.conn.RemoteAddr().String()
	if tc, ok := sc.conn.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		req.TLS = &cs
	}
	w := &response{sc: sc, req: req, header: make(http.Header), length: -1}
	body := &requestBody{ReadCloser: req.Body, w: w, expect: strings.EqualFold(req.Header.Get("Expect"), "100-continue")}
	if req.ContentLength == 0 {
		body.read.Store(true)
	}
	req.Body = body
	wa := &watch{sc: sc, body: body, cancel: cancel, since: start}
	s.mu.Lock()
	sc.watch = wa
	if !s.watching && !s.closing {
		s.watching = true
		s.wg.Add(1)
		go s.watcher()
	}
	s.mu.Unlock()
	ok := sc.call(w, req)
	s.mu.Lock()
	sc.watch = nil
	s.mu.Unlock()
	wa.stop()
	cancel()
	if !ok {
		return false
	}
	if err := w.finish(); err != nil {
		return false
	}
	if w.closeAfter || req.Close || w.header.Get("Connection") == "close" {
		return false
	}
	// What the handler left of the body is read, up to a bound, so that
	// the connection can carry the next request.
	n, err := io.Copy(io.Discard, io.LimitReader(req.Body, maxDrain+1))
	return err == nil && n <= maxDrain
}

// call runs the handler, recovering from a panic in it; false means the
// connection must close.
func (sc *serverConn) call(w *response, req *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			if v == http.ErrAbortHandler {
				return
			}
			buf := make([]byte, 16<<10)
			buf = buf[:runtime.Stack(buf, false)]
			sc.s.log.Printf("transport: panic serving %s: %v\n%s", req.RemoteAddr, v, buf)
		}
	}()
	sc.s.h.ServeHTTP(w, req)
	return true
}

// refuse answers a request that cannot be served with code, and no more.
// What the client is still sending is read for a moment before the
// connection closes, so that the close does not reset the connection
// under the answer before the client has read it.
func (sc *serverConn) refuse(code int) {
	sc.conn.SetWriteDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(sc.bw, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%d %s", code, http.StatusText(code), code, http.StatusText(code))
	if sc.bw.Flush() != nil {
		return
	}
	if cw, ok := sc.conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		sc.conn.SetReadDeadline(time.Now().Add(refuseLinger))
		io.Copy(io.Discard, io.LimitReader(sc.conn, maxDrain))
	}
}

// refuseLinger is how long refuse reads what the client still sends.
const refuseLinger = 250 * time.Millisecond

// watcher starts the watch of each call that has run for watchAfter,
// until no call has come for watcherRest or the server closes.
func (s *server) watcher() {
	defer s.wg.Done()
	rest := time.Duration(0)
	for {
		time.Sleep(watchAfter)
		s.mu.Lock()
		now, calls := time.Now(), false
		for sc := range s.conns {
			wa := sc.watch
			if wa == nil {
				continue
			}
			calls = true
			if !wa.started && now.Sub(wa.since) >= watchAfter {
				wa.started = true
				s.wg.Add(1)
				go wa.run()
			}
		}
		if calls {
			rest = 0
		} else {
			rest += watchAfter
		}
		if rest >= watcherRest || s.closing {
			s.watching = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// watch reads the connection ahead while a call runs, once the call has
// run for watchAfter and read its request to the end, and ends the call's
// context if the client goes. stop ends it.
type watch struct {
	sc      *serverConn
	body    *requestBody
	cancel  context.CancelFunc
	since   time.Time // when the call began
	started bool      // guarded by the server's mu

	mu sync.Mutex
	// guards the fields below
	stopped bool
	done    chan struct{} // made when the watch reads
}

func (wa *watch) run() {
	sc := wa.sc
	defer sc.s.wg.Done()
	wa.mu.Lock()
	if wa.stopped || !wa.body.read.Load() || sc.br.Buffered() > 0 || len(sc.ahead) > 0 {
		// Too late; or the handler may still read the connection; or
		// the next request is in hand, so the client has not gone.
		wa.mu.Unlock()
		return
	}
	wa.done = make(chan struct{})
	wa.mu.Unlock()
	defer close(wa.done)
	var b [1]byte
	n, err := sc.conn.Read(b[:])
	if n > 0 {
		sc.ahead = append(sc.ahead[:0], b[0])
	}
	var ne net.Error
	if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		wa.cancel() // the client went
	}
}

// stop ends the watch, waiting for its read if it started one. The
// connection's read deadline is then in the past, until the next read
// sets its own.
func (wa *watch) stop() {
	wa.mu.Lock()
	wa.stopped = true
	done := wa.done
	wa.mu.Unlock()
	if done != nil {
		wa.sc.conn.SetReadDeadline(time.Unix(1, 0))
		<-done
	}
}

// requestBody is a request's body as the handler reads it: it sends "100
// Continue" before the first read if the client waits to be asked for the
// body, and records that the body was read to its end.
type requestBody struct {
	io.ReadCloser
	w      *response
	expect bool
	read   atomic.Bool
}

// Close does nothing: what is left of the body is read after the
// handler, up to maxDrain. (net/http's Close of a request body reads it
// to its end, which a hostile client could make last.)
func (b *requestBody) Close() error { return nil }

func (b *requestBody) Read(p []byte) (int, error) {
	if b.read.Load() {
		return 0, io.EOF
	}
	if b.expect && !b.w.wroteHead {
		b.expect = false
		io.WriteString(b.w.sc.bw, "HTTP/1.1 100 Continue\r\n\r\n")
		if err := b.w.sc.bw.Flush(); err != nil {
			return 0, err
		}
	}
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.read.Store(true)
	}
	return n, err
}

// response is the server's http.ResponseWriter. With no Content-Length,
// up to smallBody of the body is held back: a reply that ends within it
// goes out with its length; a longer one, or one flushed, goes chunked
// (HTTP/1.1) or ends with the connection (HTTP/1.0).
type response struct {
	sc         *serverConn
	req        *http.Request
	header     http.Header
	status     int
	wroteHead  bool
	length     int64 // from Content-Length; -1 if none
	written    int64
	chunked    io.WriteCloser
	pending    []byte // held back before the head is written
	closeAfter bool
	err        error // sticky write error
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
)

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.status != 0 || code < 100 || code > 999 {
		return
	}
	if code < 200 {
		return // informational: not sent
	}
	w.status = code
}

// writeHead sends the status line and the headers.
func (w *response) writeHead() {
	if w.wroteHead {
		return
	}
	w.wroteHead = true
	if w.status == 0 {
		w.status = http.StatusOK
	}
	h := w.header
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			h.Del("Content-Length")
		} else {
			w.length = n
		}
	}
	bw := w.sc.bw
	proto := "HTTP/1.1"
	if !w.req.ProtoAtLeast(1, 1) {
		proto = "HTTP/1.0"
	}
	bw.WriteString(proto)
	bw.WriteByte(' ')
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(w.status), 10))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(w.status))
	bw.WriteString("\r\n")
	keepAlive10 := !w.req.ProtoAtLeast(1, 1) && hasToken(w.req.Header["Connection"], "keep-alive")
	switch {
	case w.length >= 0 || w.req.Method == http.MethodHead:
		if keepAlive10 {
			h.Set("Connection", "keep-alive")
		} else if !w.req.ProtoAtLeast(1, 1) {
			w.closeAfter = true
		}
	case w.req.ProtoAtLeast(1, 1):
		h.Set("Transfer-Encoding", "chunked")
	default:
		w.closeAfter = true // the body ends with the connection
	}
	if w.closeAfter || w.req.Close {
		h.Set("Connection", "close")
	}
	writeFields(bw, h, true)
	bw.WriteString("\r\n")
	if h.Get("Transfer-Encoding") == "chunked" {
		w.chunked = httputil.NewChunkedWriter(bw)
	}
	if len(w.pending) > 0 {
		p := w.pending
		w.pending = nil
		if w.req.Method != http.MethodHead {
			var n int
			n, w.err = w.body().Write(p)
			w.written += int64(n)
		}
	}
}

// smallBody is how much of a body of no Content-Length is held back.
const smallBody = 2 << 10

func (w *response) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if !w.wroteHead && w.header.Get("Content-Length") == "" && len(w.pending)+len(p) <= smallBody {
		w.pending = append(w.pending, p...)
		return len(p), nil
	}
	w.writeHead()
	if w.req.Method == http.MethodHead {
		return len(p), nil
	}
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		w.closeAfter = true
		return 0, http.ErrContentLength
	}
	var n int
	n, w.err = w.body().Write(p)
	w.written += int64(n)
	return n, w.err
}

// body is where the body goes once the head is out.
func (w *response) body() io.Writer {
	if w.chunked != nil {
		return w.chunked
	}
	return w.sc.bw
}

// Flush sends what is buffered.
func (w *response) Flush() {
	if w.err != nil {
		return
	}
	w.writeHead()
	w.err = w.sc.bw.Flush()
}

// FlushError sends what is buffered, as http.ResponseController does.
func (w *response) FlushError() error {
	w.Flush()
	return w.err
}

// SetWriteDeadline sets the connection's write deadline, for
// http.ResponseController.
func (w *response) SetWriteDeadline(t time.Time) error { return w.sc.conn.SetWriteDeadline(t) }

// finish ends the reply once the handler has returned: the head if
// nothing was written, the chunked body's end, and a flush.
func (w *response) finish() error {
	if w.err != nil {
		return w.err
	}
	if !w.wroteHead && w.header.Get("Content-Length") == "" {
		w.header.Set("Content-Length", strconv.Itoa(len(w.pending)))
	}
	w.writeHead()
	if w.err != nil {
		return w.err
	}
	if w.chunked != nil {
		w.chunked.Close()
		io.WriteString(w.sc.bw, "\r\n")
	}
	if w.length >= 0 && w.written < w.length && w.req.Method != http.MethodHead {
		w.closeAfter = true // short of its Content-Length: the client must see it end
	}
	if err := w.sc.bw.Flush(); err != nil {
		return err
	}
	if w.closeAfter {
		return errCloseAfter
	}
	return nil
}

var errCloseAfter = errors.New("connection closes after the reply")
