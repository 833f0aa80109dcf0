package xmlrpc

// The heads of HTTP/1.x messages, read and written by the transport's own
// server and client: request and status lines, header fields, and the
// framing of the body they announce. net/http's http.ReadRequest,
// http.ReadResponse and Request.Write did it before. A node that passes a
// query on reads and writes four heads a hop, each soon after waking, on
// a cold cache, where net/http's textproto, URL and header code weighs
// far more than in a benchmark's loop. Side by side, interleaved,
// three runs each of go run ./bench -only chain: 887-915 us against
// 920-958 with net/http's; and a middle node's CPU 154 us a query against
// 165 (four pairs of runs of a held chain, /proc/PID/stat).
//
// A head is hostile until checked, and the parser is the strict subset of
// RFC 9112 that clients and servers of the wire send (the book's Python
// node, net/http, curl, browsers): CRLF or LF line ends; no folded lines;
// field names that are tokens, with no space before the colon; values
// without control characters; one Host; Content-Length digits only, and
// equal if repeated; Transfer-Encoding chunked alone and never beside a
// Content-Length. Anything else is refused: with a status (headError) on
// the server, as an error on the client. FuzzRequestHead and
// FuzzResponseHead check that whatever is accepted, net/http reads the
// same way.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// headError is a request head the server refuses, and the status it
// answers with.
type headError struct {
	status int
	why    string
}

func (e *headError) Error() string { return e.why }

func badHead(why string) error { return &headError{http.StatusBadRequest, why} }

const (
	// maxRequestHead bounds a request's line and header fields.
	maxRequestHead = 64 << 10
	// maxReplyHeader bounds a reply's status line and header fields.
	maxReplyHeader = 1 << 20
	// maxFields bounds the header fields of one head.
	maxFields = 256
)

var (
	errLongLine    = errors.New("transport: message head too long")
	errLongTrailer = errors.New("transport: trailer of a chunked body too long, or cut short")
	errFolded      = badHead("folded header line")
	errField       = badHead("malformed header field")
	errManyField   = &headError{http.StatusRequestHeaderFieldsTooLarge, "too many header fields"}
)

// readLine reads one line of a head, without its CRLF (or bare LF), into
// the reader's buffer or, for a line longer than it, into *long (kept for
// the head's later lines, and let go with it); the line is valid until
// the next read. A line may not exceed max bytes.
func readLine(br *bufio.Reader, long *[]byte, max int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		b := append((*long)[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = br.ReadSlice('\n')
			if len(b)+len(line) > max {
				return nil, errLongLine
			}
			b = append(b, line...)
		}
		*long, line = b, b
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readFields reads header fields into h up to the blank line that ends
// them, which may not take more than max bytes in all.
func readFields(br *bufio.Reader, long *[]byte, max int, h http.Header) error {
	for n := 0; ; n++ {
		line, err := readLine(br, long, max)
		if err != nil {
			return err
		}
		if max -= len(line) + 1; max < 0 {
			return errLongLine
		}
		if len(line) == 0 {
			return nil
		}
		if n == maxFields {
			return errManyField
		}
		if line[0] == ' ' || line[0] == '\t' {
			return errFolded
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			return errField
		}
		v := bytes.Trim(line[colon+1:], " \t")
		if !isFieldValue(v) {
			return errField
		}
		k := fieldKey(line[:colon])
		h[k] = append(h[k], fieldValue(v))
	}
}

// tokenByte marks the bytes of an RFC 9110 token.
var tokenByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken[T string | []byte](b T) bool {
	for i := 0; i < len(b); i++ {
		if !tokenByte[b[i]] {
			return false
		}
	}
	return len(b) > 0
}

// isFieldValue says whether b holds no control characters but tabs.
func isFieldValue[T string | []byte](b T) bool {
	for i := 0; i < len(b); i++ {
		if c := b[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// commonKeys are the field names a call's heads carry, in canonical form:
// fieldKey gives them without an allocation.
var commonKeys = [...]string{"Host", "User-Agent", "Content-Type", "Content-Length", "Accept-Encoding",
	"Content-Encoding", "Transfer-Encoding", "Connection", "Expect", "Date", "Server", "Keep-Alive"}

// fieldKey returns name, a token, in canonical form.
func fieldKey(name []byte) string {
	for _, k := range commonKeys {
		if asciiEqualFold(name, k) {
			return k
		}
	}
	return textproto.CanonicalMIMEHeaderKey(string(name))
}

// commonValues are the methods and field values a call's heads carry:
// fieldValue gives them without an allocation.
var commonValues = [...]string{"POST", "GET", "HEAD", "text/xml", "filepeer", "gzip", "close", "keep-alive", "chunked", "100-continue"}

func fieldValue(v []byte) string {
	for _, s := range commonValues {
		if string(v) == s {
			return s
		}
	}
	return string(v)
}

// asciiEqualFold says whether b and s are equal but for the case of
// ASCII letters.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if lower(c) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasToken says whether a comma-separated field's values hold token,
// in any case.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(part, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// parseVersion parses "HTTP/x.y".
func parseVersion(b []byte) (major, minor int, ok bool) {
	if len(b) != len("HTTP/1.1") || string(b[:5]) != "HTTP/" || b[6] != '.' ||
		b[5] < '0' || b[5] > '9' || b[7] < '0' || b[7] > '9' {
		return 0, 0, false
	}
	return int(b[5] - '0'), int(b[7] - '0'), true
}

// protos names the versions in the form net/http gives them.
var protos = [...]string{"HTTP/1.0", "HTTP/1.1"}

// readRequest reads a request's head from br and returns the request,
// with a body that reads what its head announces from br. A head the
// server refuses is a *headError.
func readRequest(br *bufio.Reader) (*http.Request, error) {
	var long []byte
	line, err := readLine(br, &long, maxRequestHead)
	if err != nil {
		return nil, requestHeadErr(err)
	}
	method, rest, ok1 := bytes.Cut(line, []byte{' '})
	target, version, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 || !isToken(method) || len(target) == 0 {
		return nil, badHead("malformed request line")
	}
	major, minor, ok := parseVersion(version)
	if !ok {
		return nil, badHead("malformed HTTP version")
	}
	if major != 1 {
		return nil, &headError{http.StatusHTTPVersionNotSupported, "HTTP version not supported"}
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return nil, badHead("malformed request target")
		}
	}
	req := &http.Request{
		Method:     fieldValue(method),
		Proto:      protos[min(minor, 1)],
		ProtoMajor: 1,
		ProtoMinor: minor,
		Header:     make(http.Header, 6),
		RequestURI: string(target),
	}
	if req.RequestURI == "*" {
		req.URL = &url.URL{Path: "*"}
	} else if req.URL, err = url.ParseRequestURI(req.RequestURI); err != nil {
		return nil, badHead("malformed request target")
	}
	if err := readFields(br, &long, maxRequestHead, req.Header); err != nil {
		return nil, requestHeadErr(err)
	}
	h := req.Header
	switch hosts := h["Host"]; {
	case len(hosts) > 1:
		return nil, badHead("more than one Host")
	case len(hosts) == 1 && !validHost(hosts[0]):
		return nil, badHead("malformed Host")
	case req.URL.Host != "":
		req.Host = req.URL.Host
	case len(hosts) == 1:
		req.Host = hosts[0]
	}
	delete(h, "Host")
	req.Close = hasToken(h["Connection"], "close") || minor == 0 && !hasToken(h["Connection"], "keep-alive")
	cl, chunked, err := framing(h, minor)
	if err != nil {
		return nil, err
	}
	switch {
	case chunked:
		req.ContentLength, req.TransferEncoding = -1, []string{"chunked"}
		req.Body = &chunkedBody{br: br, r: httputil.NewChunkedReader(br)}
	case cl > 0:
		req.ContentLength = cl
		req.Body = &lengthBody{exactReader{r: br, left: cl}}
	default:
		req.Body = http.NoBody
	}
	return req, nil
}

// requestHeadErr is err, from reading a request's head, with a line too
// long for it made the refusal it calls for.
func requestHeadErr(err error) error {
	if err == errLongLine {
		return &headError{http.StatusRequestHeaderFieldsTooLarge, "request head too large"}
	}
	return err
}

// framing reads how a head's fields frame its body: a Content-Length
// (-1 if none) or chunked.
func framing(h http.Header, minor int) (length int64, chunked bool, err error) {
	te, cls := h["Transfer-Encoding"], h["Content-Length"]
	if len(te) > 0 {
		switch {
		case minor == 0:
			return 0, false, badHead("Transfer-Encoding in HTTP/1.0")
		case len(te) != 1 || !strings.EqualFold(te[0], "chunked"):
			return 0, false, &headError{http.StatusNotImplemented, "unsupported Transfer-Encoding"}
		case len(cls) > 0:
			return 0, false, badHead("Transfer-Encoding beside Content-Length")
		}
		delete(h, "Transfer-Encoding")
		// The fields a trailer will hold are announced, not kept, as
		// net/http has it; and none of them may frame the message.
		for _, k := range []string{"Transfer-Encoding", "Content-Length", "Trailer"} {
			if hasToken(h["Trailer"], k) {
				return 0, false, badHead("Trailer announces " + k)
			}
		}
		delete(h, "Trailer")
		return -1, true, nil
	}
	if len(cls) == 0 {
		return -1, false, nil
	}
	for _, v := range cls[1:] {
		if v != cls[0] {
			return 0, false, badHead("differing Content-Lengths")
		}
	}
	n, err := strconv.ParseUint(cls[0], 10, 63)
	if err != nil || cls[0][0] == '+' {
		return 0, false, badHead("malformed Content-Length")
	}
	if len(cls) > 1 {
		h["Content-Length"] = cls[:1]
	}
	return int64(n), false, nil
}

// validHost says whether a Host field's value is a host and optional
// port, as far as its characters go.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !tokenByte[c] && !strings.ContainsRune("[]:;=,()@!$&'*+%", rune(c)) {
			return false
		}
	}
	return true
}

// lengthBody is a body of a known length, which ends short of it in
// io.ErrUnexpectedEOF.
type lengthBody struct{ exactReader }

func (b *lengthBody) Close() error { return nil }

// exactReader reads the left bytes r has still to give: a file whose
// encoded length has gone out in a reply's head (a file that has grown
// since is cut there), or a body of a known length. An end before them
// is short's error, or io.ErrUnexpectedEOF if short is nil.
type exactReader struct {
	r     io.Reader
	left  int64
	short func(error) error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = io.ErrUnexpectedEOF
		if e.short != nil {
			err = e.short(err)
		}
	}
	return n, err
}

// chunkedBody is a chunked body: net/http's chunked reader, and then the
// trailer, which it leaves unread, read and dropped.
type chunkedBody struct {
	br  *bufio.Reader
	r   io.Reader
	err error
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = b.trailer()
	}
	b.err = err
	return n, err
}

func (b *chunkedBody) Close() error { return nil }

// trailer reads the trailer, and returns io.EOF once it has ended. It
// reads it as net/http does: a trailer must end, in a CRLF CRLF, within
// what br buffers, which bounds it.
func (b *chunkedBody) trailer() error {
	// The commonest, no trailer at all: a blank line that is a CRLF.
	if end, err := b.br.Peek(2); string(end) == "\r\n" {
		b.br.Discard(2)
		return io.EOF
	} else if err != nil {
		return io.ErrUnexpectedEOF
	}
	for n := 4; ; n++ {
		buf, err := b.br.Peek(n)
		if bytes.HasSuffix(buf, []byte("\r\n\r\n")) {
			break
		}
		if err != nil {
			return errLongTrailer
		}
	}
	var long []byte
	if err := readFields(b.br, &long, b.br.Size(), http.Header{}); err != nil {
		return err
	}
	return io.EOF
}

// readResponse reads a reply's head to req from br and returns the reply,
// with a body that reads what its head announces from br. Interim (1xx)
// replies are skipped.
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	var long []byte
	for interim := 0; ; interim++ {
		line, err := readLine(br, &long, maxReplyHeader)
		if err != nil {
			return nil, err
		}
		version, rest, _ := bytes.Cut(line, []byte{' '})
		code, reason, _ := bytes.Cut(rest, []byte{' '})
		major, minor, ok := parseVersion(version)
		if !ok || major != 1 || len(code) != 3 || code[0] < '1' || code[0] > '5' || !isDigits(code) || !isFieldValue(reason) {
			return nil, fmt.Errorf("transport: malformed status line %.64q", line)
		}
		resp := &http.Response{
			StatusCode: int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0'),
			Status:     string(rest),
			Proto:      protos[min(minor, 1)],
			ProtoMajor: 1,
			ProtoMinor: minor,
			Header:     make(http.Header, 4),
			Request:    req,
		}
		if err := readFields(br, &long, maxReplyHeader, resp.Header); err != nil {
			var he *headError
			if errors.As(err, &he) {
				err = fmt.Errorf("transport: reply: %w", err)
			}
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, errors.New("transport: unexpected 101 Switching Protocols")
		case resp.StatusCode < 200 && interim < 5:
			continue
		case resp.StatusCode < 200:
			return nil, errors.New("transport: too many interim replies")
		}
		return resp, responseBody(resp, br, minor)
	}
}

// responseBody gives resp the body its head announces.
func responseBody(resp *http.Response, br *bufio.Reader, minor int) error {
	h := resp.Header
	if minor == 0 {
		resp.Close = hasToken(h["Connection"], "close") || !hasToken(h["Connection"], "keep-alive")
	} else if resp.Close = hasToken(h["Connection"], "close"); resp.Close {
		delete(h, "Connection") // as net/http's reply has it
	}
	// The framing is checked even where no body follows, as net/http
	// checks it.
	cl, chunked, err := framing(h, minor)
	if err != nil {
		return fmt.Errorf("transport: reply: %w", err)
	}
	if chunked {
		resp.TransferEncoding = []string{"chunked"}
	}
	resp.ContentLength = cl
	switch {
	case resp.Request != nil && resp.Request.Method == http.MethodHead:
		resp.Body = http.NoBody // with the length the body would have had
	case resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified:
		resp.ContentLength, resp.Body = 0, http.NoBody
	case chunked:
		resp.Body = &chunkedBody{br: br, r: httputil.NewChunkedReader(br)}
	case cl >= 0:
		resp.Body = &lengthBody{exactReader{r: br, left: cl}}
	default:
		// Delimited by the connection's end.
		resp.Close = true
		resp.Body = io.NopCloser(br)
	}
	return nil
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// writeRequest writes req, whose body must be of a known length, to w.
func writeRequest(w *bufio.Writer, req *http.Request) error {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !validHost(host) || !isToken(req.Method) {
		return fmt.Errorf("transport: invalid request %.16q %.64q", req.Method, host)
	}
	if req.ContentLength < 0 || req.ContentLength == 0 && req.Body != nil && req.Body != http.NoBody {
		return errors.New("transport: request body of unknown length")
	}
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(req.URL.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	if err := writeFields(w, req.Header, false); err != nil {
		return err
	}
	if req.ContentLength > 0 || req.Method == http.MethodPost || req.Method == http.MethodPut {
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(w.AvailableBuffer(), req.ContentLength, 10))
		w.WriteString("\r\n")
	}
	if req.Close {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
	if req.ContentLength == 0 {
		return nil
	}
	n, err := io.Copy(w, io.LimitReader(req.Body, req.ContentLength))
	if err == nil && n != req.ContentLength {
		err = fmt.Errorf("transport: request body of %d bytes, not its Content-Length of %d", n, req.ContentLength)
	}
	return err
}

// framingKeys are the fields that writeRequest and the server's replies
// write themselves, from the message's own framing.
var framingKeys = [...]string{"Host", "Content-Length", "Transfer-Encoding", "Connection"}

// writeFields writes h's fields, in the order of their names, to w: a
// reply's all of them, a request's all but framingKeys. A request's
// invalid field is an error; a reply's is dropped, and a control
// character in a reply's value becomes a space, as net/http's
// Header.Write does, as a handler's reply has no way back for an error.
func writeFields(w *bufio.Writer, h http.Header, reply bool) error {
	var buf [16]string
	keys := buf[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !reply && slices.Contains(framingKeys[:], k) {
			continue
		}
		if !isToken(k) {
			if reply {
				continue
			}
			return fmt.Errorf("transport: invalid header name %.64q", k)
		}
		for _, v := range h[k] {
			if !isFieldValue(v) {
				if !reply {
					return fmt.Errorf("transport: invalid value of header %s", k)
				}
				v = strings.Map(func(r rune) rune {
					if r < ' ' && r != '\t' || r == 0x7f {
						return ' '
					}
					return r
				}, v)
			}
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(strings.Trim(v, " \t"))
			w.WriteString("\r\n")
		}
	}
	return nil
}
