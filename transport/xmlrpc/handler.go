package xmlrpc

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/filepeer/peer/transport"
)

// NewHandler returns an http.Handler that serves p over XML-RPC, as
// Python's SimpleXMLRPCServer serves the book's node: POST on "/" or
// "/RPC2", the methods query(name[, history]), hello(url), fetch(name,
// secret), list() if p is a Lister, and any other method if p is a Caller
// (a result that is an io.ReadCloser goes out as a query's file contents
// do). hello and fetch return int 0.
// Every failure that reaches the method layer (an unknown method, wrong
// arguments, malformed XML, a request over 1 MiB, an error from p) is an
// XML-RPC fault with HTTP status 200: a *Fault from p keeps its code, any
// other error is code 1 (CodeError), as Python sends it.
//
// A query's reply is sent as text if the whole file is text, so a file is
// read once to find out before it is sent; for an *os.File of 1 MiB or
// more that has been left alone for two seconds, the handler remembers the
// answer until the file changes (a new inode, size, mtime or ctime).
//
// Mount it in a server of your own to add TLS or share a port; give that
// server a ReadHeaderTimeout and a ReadTimeout, but no WriteTimeout, as a
// reply may be a large file.
//
// Every call is served under a context that carries the client's address
// (CallerAddr). A reply that the client stops reading is cut off after
// DefaultReplyStallTimeout without progress, if the server lets the
// handler set write deadlines (net/http's does).
func NewHandler(p transport.Peer) http.Handler {
	return newHandler(p, DefaultMaxRequestBytes, DefaultReplyStallTimeout)
}

func newHandler(p transport.Peer, maxRequest int64, replyStall time.Duration) *xmlrpcHandler {
	return &xmlrpcHandler{
		p:          p,
		maxRequest: maxRequest,
		replyStall: replyStall,
		scans:      newScanMemo(),
		parallel:   make(chan struct{}, parallelReplies),
	}
}

type xmlrpcHandler struct {
	p          transport.Peer
	maxRequest int64
	replyStall time.Duration // 0: replies are not timed
	scans      *scanMemo
	// parallel holds a token for each reply being encoded by
	// copyParallel, whose buffers are a megabyte or so: a reply that
	// finds none free is encoded in small buffers on its own goroutine,
	// so that a thousand stalled replies hold tens of KiB each.
	parallel chan struct{}
}

// parallelReplies is how many replies at once may use copyParallel: it
// speeds a reply up only while a core is free for it.
const parallelReplies = 2

func (h *xmlrpcHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" && r.URL.Path != "/RPC2" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "XML-RPC wants POST", http.StatusMethodNotAllowed)
		return
	}
	if h.replyStall > 0 {
		rc := http.NewResponseController(w)
		// A deadline an earlier call on this connection set has
		// passed: renew it for what the server itself may write
		// (a 100 Continue) before the first Write does.
		rc.SetWriteDeadline(time.Now().Add(h.replyStall))
		w = &stallWriter{ResponseWriter: w, rc: rc, stall: h.replyStall}
	}
	if addr, ok := remoteAddr(r.RemoteAddr); ok {
		r = r.WithContext(transport.WithCallerAddr(r.Context(), addr))
	}
	if r.ContentLength > h.maxRequest {
		// Refused before a byte of the body is awaited, and the
		// connection closed rather than drained.
		w.Header().Set("Connection", "close")
		writeFault(w, transport.CodeError, fmt.Sprintf("transport: request of %d bytes exceeds the cap of %d", r.ContentLength, h.maxRequest))
		return
	}
	method, params, err := h.decode(w, r)
	if err != nil {
		writeFault(w, transport.CodeError, faultText(err))
		return
	}
	if err := h.dispatch(w, r, method, params); err != nil {
		writeError(w, err)
	}
}

// decode reads the request under the size cap, undoing gzip (which
// Python's client may use) under the same cap.
func (h *xmlrpcHandler) decode(w http.ResponseWriter, r *http.Request) (string, []any, error) {
	var body io.Reader = quietBody{http.MaxBytesReader(w, r.Body, h.maxRequest)}
	gzipped := false
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gzipped = true
		zr, err := gzip.NewReader(body)
		if err != nil {
			return "", nil, fmt.Errorf("transport: gzip request: %w", err)
		}
		body = &capReader{r: zr, left: h.maxRequest, max: h.maxRequest}
	default:
		return "", nil, fmt.Errorf("transport: unsupported Content-Encoding %q", cut(enc, 64))
	}
	br := requestReaders.Get().(*bufio.Reader)
	br.Reset(body)
	defer func() {
		br.Reset(nil)
		requestReaders.Put(br)
	}()
	// A small request that is whole in the buffer, and simple, is parsed
	// there (parseSimpleCall); its body must then end where its length
	// says.
	if n := r.ContentLength; n > 0 && n <= min(smallReply, h.maxRequest) && !gzipped {
		if doc, err := br.Peek(int(n)); err == nil {
			if method, params, ok := parseSimpleCall(doc); ok {
				br.Discard(int(n))
				if _, err := br.Peek(1); err != io.EOF {
					return "", nil, fmt.Errorf("transport: request does not end at its Content-Length (%v)", err)
				}
				return method, params, nil
			}
		}
	}
	d := xmlDecoder{r: br, budget: h.maxRequest}
	method, params, err := d.request()
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return "", nil, fmt.Errorf("transport: request exceeds %d bytes", h.maxRequest)
	}
	return method, params, err
}

// requestReaders buffer requests, pooled: what a request decodes to is
// copied out of the buffer, which is free again once it is decoded.
var requestReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, smallReply) }}

// dispatch calls the method and writes its reply, or returns the error to
// send as a fault.
func (h *xmlrpcHandler) dispatch(w http.ResponseWriter, r *http.Request, method string, params []any) error {
	ctx := r.Context()
	switch method {
	case "query":
		if len(params) < 1 || len(params) > 2 {
			return argCount("query(name[, history])", 1, 2, len(params))
		}
		name, err := stringArg("query", "name", params[0])
		if err != nil {
			return err
		}
		var history []string
		if len(params) == 2 {
			if history, err = stringsArg("query", "history", params[1]); err != nil {
				return err
			}
		}
		body, err := h.p.Query(ctx, name, history)
		if err != nil {
			return err
		}
		defer body.Close()
		// An error past this point has cut the reply short; the client
		// sees a broken document. Nothing more can be sent.
		writeQueryReply(w, body, h.scans, h.parallel)
		return nil
	case "hello":
		if len(params) != 1 {
			return argCount("hello(url)", 1, 1, len(params))
		}
		url, err := stringArg("hello", "url", params[0])
		if err != nil {
			return err
		}
		if err := h.p.Hello(ctx, url); err != nil {
			return err
		}
		writeInt(w, 0)
		return nil
	case "fetch":
		if len(params) != 2 {
			return argCount("fetch(name, secret)", 2, 2, len(params))
		}
		name, err := stringArg("fetch", "name", params[0])
		if err != nil {
			return err
		}
		secret, err := stringArg("fetch", "secret", params[1])
		if err != nil {
			return err
		}
		if err := h.p.Fetch(ctx, name, secret); err != nil {
			return err
		}
		writeInt(w, 0)
		return nil
	case "list":
		l, ok := h.p.(transport.Lister)
		if !ok {
			break
		}
		if len(params) != 0 {
			return argCount("list()", 0, 0, len(params))
		}
		names, err := l.List(ctx)
		if err != nil {
			return err
		}
		writeStrings(w, names)
		return nil
	}
	c, ok := h.p.(transport.Caller)
	if !ok {
		return transport.UnknownMethod(method)
	}
	v, err := c.Call(ctx, method, params...)
	if err != nil {
		return err
	}
	if body, ok := v.(io.ReadCloser); ok {
		defer body.Close()
		writeQueryReply(w, body, h.scans, h.parallel)
		return nil
	}
	return writeValue(w, v)
}

// writeError sends err as a fault: a *Fault with its code, anything else
// as CodeError.
func writeError(w http.ResponseWriter, err error) {
	var f *transport.Fault
	if errors.As(err, &f) {
		writeFault(w, f.Code, f.Message)
		return
	}
	writeFault(w, transport.CodeError, faultText(err))
}

func argCount(sig string, lo, hi, got int) error {
	if lo == hi {
		return fmt.Errorf("%s takes %d arguments (%d given)", sig, lo, got)
	}
	return fmt.Errorf("%s takes %d to %d arguments (%d given)", sig, lo, hi, got)
}

func stringArg(method, arg string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: %s must be a string, not %s", method, arg, typeName(v))
	}
	return s, nil
}

func stringsArg(method, arg string, v any) ([]string, error) {
	vals, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be an array of strings, not %s", method, arg, typeName(v))
	}
	ss := make([]string, len(vals))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: %s must be an array of strings, not of %s", method, arg, typeName(v))
		}
		ss[i] = s
	}
	return ss, nil
}

// typeName names a decoded value's XML-RPC type.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case []byte:
		return "base64"
	case int64:
		return "an int"
	case bool:
		return "a boolean"
	case float64:
		return "a double"
	case []any:
		return "an array"
	case map[string]any:
		return "a struct"
	case nil:
		return "nil"
	}
	return fmt.Sprintf("%T", v)
}
