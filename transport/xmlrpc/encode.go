package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/filepeer/peer/internal/filestamp"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/internal/wire"
)

// How the escaper treats each byte of text.
const (
	escCopy    = iota // copied as it is
	escEscape         // written as an entity
	escInvalid        // a control character XML 1.0 cannot carry
	escHigh           // starts or continues a multi-byte UTF-8 character
)

// escClass classifies bytes for the escaper. Read only.
var escClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = escInvalid
	}
	t['\t'], t['\n'] = escCopy, escCopy
	for _, c := range "&<>\r" {
		t[c] = escEscape
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = escHigh
	}
	return t
}()

// escapes are the entities the escaper writes. Python's marshaller escapes
// only & < >; CR is escaped too because a parser reads a raw CR as LF, and
// CRLF text would lose its CRs on the way.
func escapeOf(c byte) string {
	switch c {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	}
	return "&#13;"
}

// errNotText reports bytes that cannot travel as an XML-RPC <string>.
var errNotText = errors.New("transport: not text that XML 1.0 can carry")

// appendEscaped appends to dst the escaped form of src's characters. It
// stops before an incomplete UTF-8 character at the end of src, unless
// atEOF, and returns how many bytes of src it used. Bytes that are not
// valid UTF-8 or not XML characters are errNotText.
//
// It is one pass, with runs of plain bytes found a word at a time (run,
// textRun), rather than the bulk checks that scanText and the decoder
// use: on prose and source code, with an entity every 20-40 bytes, the
// one pass escaped 12-26% faster than a bulk check followed by escaping
// (BenchmarkCodec, text=prose and text=fox), and the bulk version won
// only on text dense with characters beyond ASCII.
func appendEscaped(dst, src []byte, atEOF bool) ([]byte, int, error) {
	i := 0
	for i < len(src) {
		j := i + textRun(src[i:], &escPlain)
		dst = append(dst, src[i:j]...)
		i = j
		if i == len(src) {
			break
		}
		switch c := src[i]; escClass[c] {
		case escEscape:
			dst = append(dst, escapeOf(c)...)
			i++
		case escInvalid:
			return dst, i, errNotText
		default:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size <= 1 {
				if !atEOF && !utf8.FullRune(src[i:]) {
					return dst, i, nil
				}
				return dst, i, errNotText
			}
			if !wire.IsXMLChar(r) {
				return dst, i, errNotText
			}
			dst = append(dst, src[i:i+size]...)
			i += size
		}
	}
	return dst, i, nil
}

// scanText is appendEscaped without the output: it returns the length the
// escaped text would have.
func scanText(src []byte, atEOF bool) (escLen int64, used int, err error) {
	n := len(src)
	if !atEOF {
		n -= incompleteTail(src)
	}
	if validText(src[:n]) {
		return int64(n + escapeGrowth(src[:n])), n, nil
	}
	return scanTextSlow(src, atEOF)
}

// scanTextSlow is scanText one character at a time.
func scanTextSlow(src []byte, atEOF bool) (escLen int64, used int, err error) {
	i := 0
	for i < len(src) {
		j := i + textRun(src[i:], &escPlain)
		escLen += int64(j - i)
		i = j
		if i == len(src) {
			break
		}
		switch c := src[i]; escClass[c] {
		case escEscape:
			escLen += int64(len(escapeOf(c)))
			i++
		case escInvalid:
			return escLen, i, errNotText
		default:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size <= 1 {
				if !atEOF && !utf8.FullRune(src[i:]) {
					return escLen, i, nil
				}
				return escLen, i, errNotText
			}
			if !wire.IsXMLChar(r) {
				return escLen, i, errNotText
			}
			escLen += int64(size)
			i += size
		}
	}
	return escLen, i, nil
}

// escapeLossy escapes s for a message or a list, where a stand-in beats an
// error: bytes that XML cannot carry become U+FFFD.
func escapeLossy(b *bytes.Buffer, s string) {
	for len(s) > 0 {
		out, used, err := appendEscaped(b.AvailableBuffer(), []byte(s), true)
		b.Write(out)
		s = s[used:]
		if err != nil {
			_, size := utf8.DecodeRuneInString(s)
			b.WriteRune(utf8.RuneError)
			s = s[size:]
		}
	}
}

// encodeCall writes a <methodCall>, laid out as Python lays it out. Its
// arguments are XML-RPC values (see Caller); strings and string slices,
// which every call of the book's protocol carries, are sized up front. The buffer is sized for the
// call up front: growing it as it filled was a kilobyte and four
// allocations a relayed query.
func encodeCall(method string, args ...any) ([]byte, error) {
	const (
		head       = "<?xml version='1.0'?>\n<methodCall>\n<methodName>"
		params     = "</methodName>\n<params>\n"
		paramOpen  = "<param>\n<value>"
		paramClose = "</value>\n</param>\n"
		tail       = "</params>\n</methodCall>\n"
		strOpen    = "<string>"
		strClose   = "</string>"
		itemOpen   = "<value><string>"
		itemClose  = "</string></value>\n"
		arrayOpen  = "<array><data>\n"
		arrayClose = "</data></array>"
	)
	// Room for the call with its text unescaped; escaping grows it only
	// for names with & < > or CR in them.
	size := len(head) + len(method) + len(params) + len(tail)
	for _, a := range args {
		size += len(paramOpen) + len(paramClose)
		switch a := a.(type) {
		case string:
			size += len(strOpen) + len(a) + len(strClose)
		case []string:
			size += len(arrayOpen) + len(arrayClose)
			for _, s := range a {
				size += len(itemOpen) + len(s) + len(itemClose)
			}
		}
	}
	b := make([]byte, 0, size)
	b = append(b, head...)
	b = append(b, method...)
	b = append(b, params...)
	var err error
	for _, a := range args {
		b = append(b, paramOpen...)
		switch a := a.(type) {
		case string:
			b = append(b, strOpen...)
			if b, err = appendString(b, a); err != nil {
				return nil, err
			}
			b = append(b, strClose...)
		case []string:
			b = append(b, arrayOpen...)
			for _, s := range a {
				b = append(b, itemOpen...)
				if b, err = appendString(b, s); err != nil {
					return nil, err
				}
				b = append(b, itemClose...)
			}
			b = append(b, arrayClose...)
		default:
			if b, err = appendValue(b, a, 0); err != nil {
				return nil, err
			}
		}
		b = append(b, paramClose...)
	}
	return append(b, tail...), nil
}

// appendString appends s escaped, or fails if s is not text XML can
// carry: a name that cannot be sent as it is must not be sent as
// something else.
func appendString(b []byte, s string) ([]byte, error) {
	out, used, err := appendEscaped(b, []byte(s), true)
	if err == nil && used != len(s) {
		err = errNotText
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %q", err, wire.Short(s))
	}
	return out, nil
}

// appendValue appends v, a value of any type Caller names, without its
// <value> tags.
func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxValueDepth {
		return nil, fmt.Errorf("transport: values nested deeper than %d", maxValueDepth)
	}
	var err error
	switch v := v.(type) {
	case string:
		b = append(b, "<string>"...)
		if b, err = appendString(b, v); err != nil {
			return nil, err
		}
		return append(b, "</string>"...), nil
	case int:
		return appendInt(b, int64(v)), nil
	case int32:
		return appendInt(b, int64(v)), nil
	case int64:
		return appendInt(b, v), nil
	case bool:
		if v {
			return append(b, "<boolean>1</boolean>"...), nil
		}
		return append(b, "<boolean>0</boolean>"...), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("transport: cannot send %v as a <double>", v)
		}
		b = append(b, "<double>"...)
		b = strconv.AppendFloat(b, v, 'f', -1, 64)
		return append(b, "</double>"...), nil
	case []byte:
		b = append(b, "<base64>"...)
		b = base64.StdEncoding.AppendEncode(b, v)
		return append(b, "</base64>"...), nil
	case []string:
		b = append(b, "<array><data>\n"...)
		for _, s := range v {
			b = append(b, "<value><string>"...)
			if b, err = appendString(b, s); err != nil {
				return nil, err
			}
			b = append(b, "</string></value>\n"...)
		}
		return append(b, "</data></array>"...), nil
	case []any:
		b = append(b, "<array><data>\n"...)
		for _, e := range v {
			b = append(b, "<value>"...)
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
			b = append(b, "</value>\n"...)
		}
		return append(b, "</data></array>"...), nil
	case map[string]any:
		b = append(b, "<struct>\n"...)
		for _, k := range slices.Sorted(maps.Keys(v)) {
			b = append(b, "<member>\n<name>"...)
			if b, err = appendString(b, k); err != nil {
				return nil, err
			}
			b = append(b, "</name>\n<value>"...)
			if b, err = appendValue(b, v[k], depth+1); err != nil {
				return nil, err
			}
			b = append(b, "</value>\n</member>\n"...)
		}
		return append(b, "</struct>"...), nil
	case nil:
		return nil, errors.New("transport: cannot send nil: XML-RPC peers such as Python's refuse it")
	}
	return nil, fmt.Errorf("transport: cannot encode %T", v)
}

// appendInt writes an <int>, or an <i8> for a value beyond 32 bits, which
// Python reads but does not send.
func appendInt(b []byte, v int64) []byte {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		b = append(b, "<int>"...)
		b = strconv.AppendInt(b, v, 10)
		return append(b, "</int>"...)
	}
	b = append(b, "<i8>"...)
	b = strconv.AppendInt(b, v, 10)
	return append(b, "</i8>"...)
}

const (
	replyHead = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value>"
	replyTail = "</value>\n</param>\n</params>\n</methodResponse>\n"
)

// writeXML sends a whole small document.
func writeXML(w http.ResponseWriter, doc []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	w.WriteHeader(http.StatusOK)
	w.Write(doc)
}

// writeFault sends a fault, with HTTP 200 as XML-RPC wants.
func writeFault(w http.ResponseWriter, code int, msg string) {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n" +
		"<member>\n<name>faultCode</name>\n<value><int>")
	b.WriteString(strconv.Itoa(code))
	b.WriteString("</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>")
	escapeLossy(&b, msg)
	b.WriteString("</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n")
	writeXML(w, b.Bytes())
}

// writeInt sends an <int> reply: what hello and fetch return.
func writeInt(w http.ResponseWriter, v int) {
	writeXML(w, []byte(replyHead+"<int>"+strconv.Itoa(v)+"</int>"+replyTail))
}

// writeValue sends v, a value of any type Caller names, as the reply.
func writeValue(w http.ResponseWriter, v any) error {
	b, err := appendValue([]byte(replyHead), v, 0)
	if err != nil {
		return err
	}
	writeXML(w, append(b, replyTail...))
	return nil
}

// writeStrings sends an array of strings: what list returns.
func writeStrings(w http.ResponseWriter, names []string) {
	var b bytes.Buffer
	b.WriteString(replyHead + "<array><data>\n")
	for _, s := range names {
		b.WriteString("<value><string>")
		escapeLossy(&b, s)
		b.WriteString("</string></value>\n")
	}
	b.WriteString("</data></array>" + replyTail)
	writeXML(w, b.Bytes())
}

const (
	// ioChunk is the unit in which file contents are read and written.
	ioChunk = 64 << 10
	// spoolInMemory is how much of a body of unknown kind is held in
	// memory while deciding whether it is text; beyond it, a temporary
	// file holds it.
	spoolInMemory = 1 << 20
)

// writeQueryReply streams body as the reply to a query: text as <string>,
// anything else as <base64>. The kind must be known before the first byte
// is sent: a body that knows it (a Texter, such as a reply relayed from
// another node) is trusted; a seekable body (a file) is scanned first and
// rewound, which also gives the exact Content-Length; any other body is
// spooled to memory or a temporary file and scanned there. Spooling, rather
// than sending unknown bodies as <base64>, keeps text as text for the
// book's Python node, which can only write what it fetches if it is a str.
//
// Once the reply has begun, a failure can no longer become a fault: the
// reply is cut short and the client sees a broken document.
//
// parallel, if not nil, rations copyParallel: a reply that cannot take a
// token from it streams through small buffers instead.
func writeQueryReply(w http.ResponseWriter, body io.Reader, scans *scanMemo, parallel chan struct{}) error {
	var (
		text   bool
		length int64 = -1 // of the encoded contents, if known
		// small holds the whole body if it is small and seekable: it
		// is then read once, and checked once.
		small []byte
		// pos and size place the contents in a seekable body.
		pos, size int64
	)
	in := getBuf(inPool, ioChunk)
	// in is given back as soon as the body is scanned, and the reply
	// streams through buffers sized for it: a reply the client stops
	// reading holds only those until it is cut off.
	held := true
	release := func() {
		if held {
			putBuf(inPool, in)
			held = false
		}
	}
	defer release()
	switch b := body.(type) {
	case transport.Texter:
		text = b.IsText()
	case io.ReadSeeker:
		var err error
		if small, err = readSmall(b, *in); err != nil {
			return err
		}
		if small == nil {
			if text, length, pos, size, err = scans.scan(b, *in); err != nil {
				return err
			}
		}
	default:
		rs, cleanup, err := spool(body)
		if err != nil {
			return err
		}
		defer cleanup()
		if text, length, pos, size, err = scanSeeker(rs, *in); err != nil {
			return err
		}
		body = rs
	}
	if small != nil {
		out := getBuf(outPool, ioChunk)
		defer putBuf(outPool, out)
		return writeSmallReply(w, small, (*out)[:0])
	}
	release()
	open, close := "<string>", "</string>"
	if !text {
		open, close = "<base64>", "</base64>"
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	if length >= 0 {
		n := int64(len(replyHead)+len(open)+len(close)+len(replyTail)) + length
		h.Set("Content-Length", strconv.FormatInt(n, 10))
	}
	w.WriteHeader(http.StatusOK)
	var (
		out  *[]byte
		pool *sync.Pool
		err  error
	)
	if ra, ok := body.(io.ReaderAt); ok && length >= 0 && size > 2*parallelChunk && takeToken(parallel) {
		pool = outPool
		out = getBuf(pool, ioChunk)
		*out = append(append((*out)[:0], replyHead...), open...)
		err = copyParallel(w, ra, pos, size, text, out)
		if parallel != nil {
			<-parallel
		}
	} else {
		pool = streamPool
		out = getBuf(pool, streamChunk)
		sin := getBuf(streamPool, streamChunk)
		*out = append(append((*out)[:0], replyHead...), open...)
		var enc encoder = &textEncoder{r: body, in: *sin}
		if !text {
			enc = &base64Encoder{r: body, in: (*sin)[:len(*sin)/4*3]}
		}
		err = copyEncoded(w, enc, out)
		putBuf(streamPool, sin)
	}
	defer putBuf(pool, out)
	if err != nil {
		return err
	}
	// The tail goes with the last of the contents: a small reply is
	// one write.
	*out = append(append(*out, close...), replyTail...)
	_, err = w.Write(*out)
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

// streamChunk is the unit of a reply streamed without copyParallel.
const streamChunk = 16 << 10

// streamPool holds streamChunk buffers.
var streamPool = &sync.Pool{}

// readSmall reads all of rs into buf if it fits, and returns it; if it
// does not fit, it rewinds rs and returns nil.
func readSmall(rs io.ReadSeeker, buf []byte) ([]byte, error) {
	n, err := io.ReadFull(rs, buf)
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		return buf[:n], nil
	case nil:
		_, err = rs.Seek(-int64(n), io.SeekCurrent)
	}
	return nil, err
}

// writeSmallReply sends b, which is all of a small body, as one write of
// one buffer, out.
func writeSmallReply(w http.ResponseWriter, b, out []byte) error {
	out = append(out, replyHead+"<string>"...)
	if esc, used, err := appendEscaped(out, b, true); err == nil && used == len(b) {
		out = append(esc, "</string>"+replyTail...)
	} else {
		out = append(out[:len(replyHead)], "<base64>"...)
		k := len(out)
		out = slices.Grow(out, base64.StdEncoding.EncodedLen(len(b)))[:k+base64.StdEncoding.EncodedLen(len(b))]
		base64.StdEncoding.Encode(out[k:], b)
		out = append(out, "</base64>"+replyTail...)
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(out)
	return err
}

// An encoder appends the next piece of a body, encoded, to out; done is
// true once it has appended the last.
type encoder interface {
	fill(out *[]byte) (done bool, err error)
}

// textEncoder escapes text. A body that turns out not to be text (a
// Texter that was wrong, a file changed since it was scanned) is an
// error.
type textEncoder struct {
	r     io.Reader
	in    []byte
	carry int // bytes of an incomplete character at the start of in
}

func (e *textEncoder) fill(out *[]byte) (bool, error) {
	n, rerr := io.ReadFull(e.r, e.in[e.carry:])
	n += e.carry
	eof := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
	if rerr != nil && !eof {
		return false, rerr
	}
	var (
		used int
		err  error
	)
	*out, used, err = appendEscaped(*out, e.in[:n], eof)
	if err != nil {
		return false, err
	}
	e.carry = copy(e.in, e.in[used:n])
	return eof, nil
}

// base64Encoder encodes as base64 on one line, which Python reads as well
// as its own 76-column lines; in is a multiple of 3 long.
type base64Encoder struct {
	r  io.Reader
	in []byte
}

func (e *base64Encoder) fill(out *[]byte) (bool, error) {
	n, rerr := io.ReadFull(e.r, e.in)
	if n > 0 {
		k, size := len(*out), base64.StdEncoding.EncodedLen(n)
		*out = slices.Grow(*out, size)[:k+size]
		base64.StdEncoding.Encode((*out)[k:], e.in[:n])
	}
	switch rerr {
	case nil:
		return false, nil
	case io.EOF, io.ErrUnexpectedEOF:
		return true, nil
	}
	return false, rerr
}

// copyEncoded writes what enc encodes to w, after what out already holds;
// it leaves in out what it has not written.
func copyEncoded(w io.Writer, enc encoder, out *[]byte) error {
	for {
		done, err := enc.fill(out)
		if err != nil || done {
			return err
		}
		if _, err := w.Write(*out); err != nil {
			return err
		}
		*out = (*out)[:0]
	}
}

// copyParallel writes the contents of a file, the size bytes of r from
// base, encoded as text or base64, to w, after what out already holds; it
// leaves in out what it has not written. Two goroutines encode alternate
// chunks, each reading its own with ReadAt, a chunk or two ahead of the
// writes: a profile of a 16 MiB text reply had escaping at two thirds of
// the handler's time, one core's worth, and the writes at a third. The
// goroutines are waited for before copyParallel returns, even when a
// write fails.
func copyParallel(w io.Writer, r io.ReaderAt, base, size int64, text bool, out *[]byte) error {
	// Large chunks: each costs a hand-over between goroutines, which
	// may wake a thread.
	chunk := int64(parallelChunk)
	if !text {
		chunk = parallelChunk / 4 * 3 // whole base64 quanta
	}
	n := int((size + chunk - 1) / chunk)
	type piece struct {
		buf *[]byte
		err error
	}
	const workers, ahead = 2, 2
	var (
		full [workers]chan piece
		free [workers]chan *[]byte
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	for k := range workers {
		full[k] = make(chan piece, ahead)
		free[k] = make(chan *[]byte, ahead)
		for range ahead {
			free[k] <- getBuf(outPool, parallelChunk)
		}
		wg.Go(func() {
			in := getBuf(inPool, parallelChunk+utf8.UTFMax)
			defer putBuf(inPool, in)
			for j := k; j < n; j += workers {
				var b *[]byte
				select {
				case b = <-free[k]:
				case <-stop:
					return
				}
				*b = (*b)[:0]
				err := encodeChunk(r, base, size, int64(j)*chunk, chunk, text, *in, b)
				full[k] <- piece{b, err} // room for it: at most ahead buffers
				if err != nil {
					return
				}
			}
		})
	}
	var err error
	for j := 0; j < n && err == nil; j++ {
		p := <-full[j%workers]
		switch {
		case p.err != nil:
			err = p.err
		case j == 0 || j == n-1:
			// The first chunk goes with the head, the last with the
			// tail that the caller adds.
			*out = append(*out, *p.buf...)
			if j < n-1 {
				_, err = w.Write(*out)
				*out = (*out)[:0]
			}
		default:
			_, err = w.Write(*p.buf)
		}
		free[j%workers] <- p.buf
	}
	close(stop)
	wg.Wait()
	for k := range workers {
		close(full[k])
		for p := range full[k] {
			putBuf(outPool, p.buf)
		}
		close(free[k])
		for b := range free[k] {
			putBuf(outPool, b)
		}
	}
	return err
}

// parallelChunk is the size of copyParallel's chunks.
const parallelChunk = 4 * ioChunk

// encodeChunk appends to out the encoding of the chunk of r at off (from
// base) of size bytes in all, using in to read it. A text chunk starts at
// the first character that starts in it and ends with the last one, so
// that no character is split between chunks. A file that has changed
// since it was scanned (shorter, or no longer text) is an error.
func encodeChunk(r io.ReaderAt, base, size, off, chunk int64, text bool, in []byte, out *[]byte) error {
	hi := min(off+chunk, size)
	end := hi
	if text {
		end = min(hi+utf8.UTFMax-1, size)
	}
	b := in[:end-off]
	if n, err := r.ReadAt(b, base+off); n < len(b) {
		if err == nil || err == io.EOF {
			err = errors.New("transport: file shrank while it was sent")
		}
		return err
	}
	if !text {
		k, size := len(*out), base64.StdEncoding.EncodedLen(len(b))
		*out = slices.Grow(*out, size)[:k+size]
		base64.StdEncoding.Encode((*out)[k:], b)
		return nil
	}
	first, last := 0, int(hi-off)
	if off > 0 {
		for first < len(b) && first < utf8.UTFMax-1 && b[first]&0xC0 == 0x80 {
			first++
		}
	}
	for last < len(b) && b[last]&0xC0 == 0x80 {
		last++
	}
	var (
		used int
		err  error
	)
	*out, used, err = appendEscaped(*out, b[first:last], true)
	if err == nil && used != last-first {
		err = errNotText
	}
	return err
}

// Buffers for file contents are pooled: a relay or a large file would
// otherwise allocate (and clear) 192 KiB a reply; the chain benchmark
// allocated 1 MB an operation, most of its garbage.
var (
	inPool  = &sync.Pool{}
	outPool = &sync.Pool{}
)

// maxPooled is the largest buffer kept for reuse; escaping a chunk of
// nothing but '&' makes one five times the chunk.
const maxPooled = 8 * ioChunk

// getBuf returns a buffer of length size (contents undefined) from pool.
func getBuf(pool *sync.Pool, size int) *[]byte {
	if b, ok := pool.Get().(*[]byte); ok && cap(*b) >= size {
		*b = (*b)[:size]
		return b
	}
	b := make([]byte, size)
	return &b
}

func putBuf(pool *sync.Pool, b *[]byte) {
	if cap(*b) <= maxPooled {
		pool.Put(b)
	}
}

// scanSeeker reads rs from where it stands to its end to learn whether it
// is text, and rewinds it. length is the size of the encoded contents,
// pos where rs stands and size the number of bytes from there to its end.
// buf is its buffer.
func scanSeeker(rs io.ReadSeeker, buf []byte) (text bool, length, pos, size int64, err error) {
	pos, err = rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return false, 0, 0, 0, err
	}
	endPos, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return false, 0, 0, 0, err
	}
	if _, err := rs.Seek(pos, io.SeekStart); err != nil {
		return false, 0, 0, 0, err
	}
	size = endPos - pos
	text, length = true, 0
	carry := 0
	for {
		n, rerr := io.ReadFull(rs, buf[carry:])
		n += carry
		eof := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !eof {
			return false, 0, 0, 0, rerr
		}
		l, used, err := scanText(buf[:n], eof)
		length += l
		if err != nil {
			text = false
			break
		}
		carry = copy(buf, buf[used:n])
		if eof {
			break
		}
	}
	if !text {
		length = int64(base64.StdEncoding.EncodedLen(int(size)))
	}
	if _, err := rs.Seek(pos, io.SeekStart); err != nil {
		return false, 0, 0, 0, err
	}
	return text, length, pos, size, nil
}

// scanMemo remembers what scanSeeker found in files, by version
// (filestamp), so that a file sent again is not read twice again: the scan
// of a 16 MiB text took 7.7 ms, a quarter of its reply's time. Safe for
// concurrent use; a nil *scanMemo remembers nothing.
type scanMemo struct {
	kinds *lru.Cache[filestamp.Stamp, fileKind]
}

// fileKind is what a scan found: text or not, and the length encoded.
type fileKind struct {
	text   bool
	length int64
}

// scanMemoSize is how many files a handler remembers the kind of.
const scanMemoSize = 256

// minMemoSize is the smallest file whose kind is remembered: below it, a
// scan costs less than a stat.
const minMemoSize = 1 << 20

func newScanMemo() *scanMemo {
	kinds, err := lru.New[filestamp.Stamp, fileKind](scanMemoSize)
	if err != nil {
		return nil
	}
	return &scanMemo{kinds: kinds}
}

// scan is scanSeeker, remembered for a whole file (rs at its start) that
// can say what version it is (an *os.File) and has been left alone for
// filestamp.Settle. A file that changes after its scan gets a new stamp,
// and so a new scan.
func (m *scanMemo) scan(rs io.ReadSeeker, buf []byte) (text bool, length, pos, size int64, err error) {
	f, ok := rs.(interface{ Stat() (fs.FileInfo, error) })
	if m == nil || !ok {
		return scanSeeker(rs, buf)
	}
	fi, err := f.Stat()
	if err != nil {
		return scanSeeker(rs, buf)
	}
	stamp, ok := filestamp.Of(fi)
	if !ok || fi.Size() < minMemoSize || !filestamp.Settled(fi) {
		return scanSeeker(rs, buf)
	}
	if pos, err = rs.Seek(0, io.SeekCurrent); err != nil || pos != 0 {
		return scanSeeker(rs, buf)
	}
	if k, ok := m.kinds.Get(stamp); ok {
		return k.text, k.length, 0, fi.Size(), nil
	}
	text, length, pos, size, err = scanSeeker(rs, buf)
	if err == nil && size == fi.Size() {
		m.kinds.Add(stamp, fileKind{text: text, length: length})
	}
	return text, length, pos, size, err
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

// isText reports whether b can travel as an XML-RPC <string>.
func isText(b []byte) bool {
	_, used, err := scanText(b, true)
	return err == nil && used == len(b)
}
