package xmlrpc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
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
// answer until the file changes (a new inode, size, mtime or ctime); such
// a file sent a second time, if it is not plain text, has its whole
// encoded reply kept in a cache of DefaultReplyCacheBytes (64 MiB) and
// later replies are written from there while a stat finds the file
// unchanged (Config.ReplyCacheBytes sets the budget for Listen). A
// body that hands its contents over in one of this package's encodings
// (transport.Encoded; a reply relayed from another node, found through
// the relay's Unwrap) is copied through, checked as it passes, rather
// than decoded and encoded again.
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
	return newHandler(p, DefaultMaxRequestBytes, DefaultReplyStallTimeout, DefaultReplyCacheBytes)
}

// newHandler returns a handler whose reply cache has a budget of
// cacheBytes (see Config.ReplyCacheBytes).
func newHandler(p transport.Peer, maxRequest int64, replyStall time.Duration, cacheBytes int64) *xmlrpcHandler {
	return &xmlrpcHandler{
		p:          p,
		maxRequest: maxRequest,
		replyStall: replyStall,
		scans:      newScanMemo(),
		replies:    newReplyCache(cacheBytes),
		parallel:   make(chan struct{}, parallelReplies),
	}
}

type xmlrpcHandler struct {
	p          transport.Peer
	maxRequest int64
	replyStall time.Duration // 0: replies are not timed
	scans      *scanMemo
	replies    *replyCache
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
		name, err := transport.StringArg("query", "name", params[0])
		if err != nil {
			return err
		}
		var history []string
		if len(params) == 2 {
			if history, err = transport.StringsArg("query", "history", params[1]); err != nil {
				return err
			}
		}
		body, err := h.p.Query(ctx, name, history)
		if err != nil {
			return err
		}
		defer body.Close()
		return h.sendFile(w, body)
	case "hello":
		if len(params) != 1 {
			return argCount("hello(url)", 1, 1, len(params))
		}
		url, err := transport.StringArg("hello", "url", params[0])
		if err != nil {
			return err
		}
		if err := h.p.Hello(ctx, url); err != nil {
			return err
		}
		writeXML(w, intDoc(0))
		return nil
	case "fetch":
		if len(params) != 2 {
			return argCount("fetch(name, secret)", 2, 2, len(params))
		}
		name, err := transport.StringArg("fetch", "name", params[0])
		if err != nil {
			return err
		}
		secret, err := transport.StringArg("fetch", "secret", params[1])
		if err != nil {
			return err
		}
		if err := h.p.Fetch(ctx, name, secret); err != nil {
			return err
		}
		writeXML(w, intDoc(0))
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
		writeXML(w, stringsDoc(names))
		return nil
	}
	v, err := transport.Call(ctx, h.p, method, params...)
	if err != nil {
		return err
	}
	if body, ok := v.(io.ReadCloser); ok {
		defer body.Close()
		return h.sendFile(w, body)
	}
	doc, err := valueDoc(v)
	if err != nil {
		return err
	}
	writeXML(w, doc)
	return nil
}

// writeFault sends a fault, with HTTP 200 as XML-RPC wants.
func writeFault(w http.ResponseWriter, code int, msg string) { writeXML(w, faultDoc(code, msg)) }

// sendFile sends body as the reply, or returns the error to send as a
// fault if it failed before a byte of the reply was sent (a file that
// could not be read, say). An error past that point has cut the reply
// short, and the client sees a broken document: nothing more can be
// sent.
func (h *xmlrpcHandler) sendFile(w http.ResponseWriter, body io.Reader) error {
	sw := &sentWriter{ResponseWriter: w}
	err := writeQueryReply(sw, body, h.scans, h.replies, h.parallel)
	if sw.sent {
		return nil
	}
	return err
}

// sentWriter records whether anything of the reply has been sent.
type sentWriter struct {
	http.ResponseWriter
	sent bool
}

func (s *sentWriter) WriteHeader(code int) {
	s.sent = true
	s.ResponseWriter.WriteHeader(code)
}

func (s *sentWriter) Write(p []byte) (int, error) {
	s.sent = true
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (s *sentWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

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

// writeXML sends a whole small document.
func writeXML(w http.ResponseWriter, doc []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	w.WriteHeader(http.StatusOK)
	w.Write(doc)
}

// writeQueryReply streams body as the reply to a query: text as <string>,
// anything else as <base64>. The kind must be known before the first byte
// is sent: a body that knows it (a Texter, such as a reply relayed from
// another node) is trusted; a seekable body (a file) is scanned first and
// rewound, which also gives the exact Content-Length; any other body is
// spooled to memory or a temporary file and scanned there. Spooling, rather
// than sending unknown bodies as <base64>, keeps text as text for the
// book's Python node, which can only write what it fetches if it is a str.
//
// Nothing is sent before the first piece of the contents is encoded, so
// a body whose first read fails leaves the reply unsent, for a fault.
// Once the reply has begun, a failure can no longer become a fault: the
// reply is cut short and the client sees a broken document.
//
// A settled file's reply that replies holds is sent from there; on the
// second send of one version (scans knows its kind), its reply is
// recorded into replies as it goes out, unless it is plain text, which
// is copied out as it is anyway.
//
// parallel, if not nil, rations copyParallel: a reply that cannot take a
// token from it streams through small buffers instead.
func writeQueryReply(w http.ResponseWriter, body io.Reader, scans *scanMemo, replies *replyCache, parallel chan struct{}) (err error) {
	if e := encodedOf(body); e != nil {
		return sendEncoded(w, e)
	}
	text, length := false, int64(-1) // length: of the encoded contents, if known
	switch b := body.(type) {
	case transport.Texter:
		text = b.IsText()
	case io.ReadSeeker:
		v := versionOf(b)
		if e := replies.get(v); e != nil {
			defer replies.release(e)
			return sendCached(w, e.doc)
		}
		var pos, size int64
		var known bool
		if text, length, pos, size, known, err = scanBody(scans, b, v); err != nil {
			return err
		}
		plain := text && length == size
		if f, ok := b.(*os.File); ok && plain {
			return sendPlainFile(w, f, size)
		}
		if known && !plain {
			if e := replies.reserve(v, docLen(text, length)); e != nil {
				rec := &recorder{ResponseWriter: w, e: e}
				w = rec
				defer func() { replies.commit(e, err == nil && !rec.over && versionOf(b) == v) }()
			}
		}
		if ra, ok := b.(io.ReaderAt); ok && size > 2*parallelChunk && takeToken(parallel) {
			if parallel != nil {
				defer func() { <-parallel }()
			}
			return sendParallel(w, ra, pos, size, text, length)
		}
		body = &exactReader{r: b, left: size, short: errShrank}
	default:
		rs, cleanup, err := spool(body)
		if err != nil {
			return err
		}
		defer cleanup()
		var size int64
		if text, length, _, size, _, err = scanBody(nil, rs, version{}); err != nil {
			return err
		}
		body = &exactReader{r: rs, left: size, short: errShrank}
	}
	in := getBuf(streamPool, streamChunk)
	defer putBuf(streamPool, in)
	var enc encoder = &textEncoder{r: body, in: *in}
	if !text {
		enc = &base64Encoder{r: body, in: (*in)[:len(*in)/4*3]}
	}
	return sendStream(w, enc, text, length)
}

// sendStream sends the reply of what enc encodes, text or base64, length
// bytes long encoded (-1: unknown). The reply streams through a buffer of
// streamChunk (ioChunk for a relay's): a reply the client stops reading
// holds only that, and what enc holds, until it is cut off.
func sendStream(w http.ResponseWriter, enc encoder, text bool, length int64) error {
	open, close := replyHeaders(w, text, length)
	pool, size := streamPool, streamChunk
	if _, ok := enc.(*copyEncoder); ok {
		// A relay's reply goes in writes of ioChunk, the size of the
		// client's buffer it comes from: 16 MiB of plain text relayed
		// took 28% longer in writes of streamChunk (BenchmarkRelay
		// plain/pass, 490 MB/s against 620-645). A stalled relay
		// thus holds 32 KiB more than one that encodes, whose two
		// buffers are of streamChunk, beside the client's ioChunk.
		pool, size = outPool, ioChunk
	}
	out := getBuf(pool, size)
	defer putBuf(pool, out)
	*out = append(append((*out)[:0], replyHead...), open...)
	if err := copyEncoded(w, enc, out); err != nil {
		return err
	}
	// The tail goes with the last of the contents: a small reply is
	// one write, headers and all.
	*out = append(append(*out, close...), replyTail...)
	_, err := w.Write(*out)
	return err
}

// encodedOf returns the body within body (body itself, or one it wraps,
// found by Unwrap) that hands its contents over encoded as this package
// sends them, or nil.
func encodedOf(body io.Reader) transport.Encoded {
	for range maxUnwrap {
		if e, ok := body.(transport.Encoded); ok {
			if enc := e.Encoding(); enc == EncodingText || enc == EncodingBase64 {
				return e
			}
			return nil
		}
		u, ok := body.(interface{ Unwrap() io.ReadCloser })
		if !ok {
			return nil
		}
		body = u.Unwrap()
	}
	return nil
}

// maxUnwrap bounds how many wrappers encodedOf looks through: a relay's
// body is a relay's (in a node that passes a query on) around a client's.
const maxUnwrap = 8

// sendEncoded sends the contents of e, which come in the encoding the
// reply carries them in, as they are: checked as they are read (see
// passthrough.go), so that a peer's bad bytes fail the reply as a decode
// would have, but neither decoded nor encoded again.
func sendEncoded(w http.ResponseWriter, e transport.Encoded) error {
	return sendStream(w, &copyEncoder{r: e.Encoded()}, e.Encoding() == EncodingText, -1)
}

// replyHeaders sets the headers of a reply of file contents, encoded
// length bytes long (-1: unknown), and returns the tags around them.
func replyHeaders(w http.ResponseWriter, text bool, length int64) (open, close string) {
	open, close = "<string>", "</string>"
	if !text {
		open, close = "<base64>", "</base64>"
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	if length >= 0 {
		h.Set("Content-Length", strconv.FormatInt(docLen(text, length), 10))
	}
	return open, close
}

// docLen is the length of a reply document whose contents are length
// bytes encoded.
func docLen(text bool, length int64) int64 {
	tags := len("<base64></base64>")
	if text {
		tags = len("<string></string>")
	}
	return int64(len(replyHead)+tags+len(replyTail)) + length
}

// sendParallel sends the size bytes of r from pos, encoded length bytes
// long, with copyParallel.
func sendParallel(w http.ResponseWriter, r io.ReaderAt, pos, size int64, text bool, length int64) error {
	open, close := replyHeaders(w, text, length)
	out := getBuf(outPool, ioChunk)
	defer putBuf(outPool, out)
	*out = append(append((*out)[:0], replyHead...), open...)
	if err := copyParallel(w, r, pos, size, text, out); err != nil {
		return err
	}
	*out = append(append(*out, close...), replyTail...)
	_, err := w.Write(*out)
	return err
}

// takeToken takes a token from parallel without waiting; a nil channel
// always has one.
func takeToken(parallel chan struct{}) bool {
	if parallel == nil {
		return true
	}
	select {
	case parallel <- struct{}{}:
		return true
	default:
		return false
	}
}

// sendPlainFile sends f, size bytes of text with nothing to escape, as
// the reply: such a file is its own encoded form, so it is copied out as
// it is, in pieces of replyPiece read before each write. Nothing is sent
// before the first piece is read, as on the encoded path.
//
// A second path, kept for its figure: BenchmarkFileReply plain, copy
// against parallel (the same settled 16 MiB file through copyParallel,
// the way it would go otherwise), side by side in one run, medians of 5:
// 5.6 ms against 8.6 ms (1.5x).
//
// It does not use sendfile (io.Copy from the *os.File to net/http's
// ReadFrom), which the transport's issue asked for: on loopback here it
// lost to this copy, in the same run 10.0 ms (plain/sendfile) against
// 5.6 ms, and from outside (go run ./bench, a raw client) 1,940-2,000
// MB/s against 2,110-2,270 from Dir and 740-780 against 990-1,030 when
// a relay passes the reply on.
func sendPlainFile(w http.ResponseWriter, f *os.File, size int64) error {
	const open, close = replyHead + "<string>", "</string>" + replyTail
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.FormatInt(int64(len(open)+len(close))+size, 10))
	out := getBuf(inPool, len(open)+replyPiece+len(close))
	defer putBuf(inPool, out)
	b := append((*out)[:0], open...)
	for left := size; left > 0; {
		piece := int(min(left, replyPiece))
		n, err := io.ReadFull(f, b[len(b):len(b)+piece])
		if err != nil {
			return errShrank(err)
		}
		b = b[:len(b)+n]
		if left -= int64(n); left == 0 {
			b = append(b, close...)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		b = b[:0]
	}
	if size == 0 {
		_, err := w.Write(append(b, close...))
		return err
	}
	return nil
}

// replyPiece is the piece in which sendPlainFile copies a file. 32 KiB
// is the fastest of those tried: BenchmarkFileReply plain/copy, side by
// side, 7.1-7.7 ms at 32 KiB, 8.6-9.7 at 16, 9.8-11.4 at 64 and 128,
// 7.1-8.6 at 256.
const replyPiece = 32 << 10

// errShrank is the error of a read that found a file shorter than its
// scan did.
func errShrank(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("transport: file shrank while it was sent")
	}
	return err
}

// scanBody is scans.scan with a buffer of its own.
func scanBody(scans *scanMemo, rs io.ReadSeeker, v version) (text bool, length, pos, size int64, known bool, err error) {
	in := getBuf(inPool, ioChunk)
	defer putBuf(inPool, in)
	return scans.scan(rs, v, *in)
}

// spool copies a body of unknown kind somewhere it can be read twice.
func spool(r io.Reader) (io.ReadSeeker, func(), error) {
	var b bytes.Buffer
	if _, err := io.CopyN(&b, r, spoolInMemory+1); err == io.EOF {
		return bytes.NewReader(b.Bytes()), func() {}, nil
	} else if err != nil {
		return nil, nil, err
	}
	f, err := os.CreateTemp("", "filepeer-spool-*")
	if err != nil {
		return nil, nil, fmt.Errorf("transport: spool reply: %w", err)
	}
	cleanup := func() {
		f.Close()
		os.Remove(f.Name())
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("transport: spool reply: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("transport: spool reply: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("transport: spool reply: %w", err)
	}
	return f, cleanup, nil
}
