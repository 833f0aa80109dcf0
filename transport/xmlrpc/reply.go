package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/filepeer/peer/transport"
)

const (
	replyHead = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value>"
	replyTail = "</value>\n</param>\n</params>\n</methodResponse>\n"
)

// replyStart reads a <methodResponse> up to its value. It returns the
// fault if the reply is one, having read it whole; otherwise the decoder
// stands just inside <params><param><value>.
func (d *xmlDecoder) replyStart() (*transport.Fault, error) {
	if err := d.expect(start("methodResponse")); err != nil {
		return nil, err
	}
	t, err := d.nextTag()
	if err != nil {
		return nil, err
	}
	switch t {
	case start("params"):
		if err := d.expect(start("param")); err != nil {
			return nil, err
		}
		return nil, d.expect(start("value"))
	case start("fault"):
	default:
		return nil, syntaxErrorf("got %s, want <params> or <fault>", t)
	}
	// A fault is a code and a sentence: one far larger is an attack on
	// the memory of the node that reads it, refused as soon as it
	// passes maxFaultDoc.
	budget := d.budget
	d.budget = min(d.budget, maxFaultDoc)
	if err := d.expect(start("value")); err != nil {
		return nil, err
	}
	v, err := d.value(0)
	if err != nil {
		if d.budget < 0 {
			return nil, syntaxErrorf("fault larger than %d bytes", maxFaultDoc)
		}
		return nil, err
	}
	d.budget = budget - (maxFaultDoc - d.budget)
	if err := d.closeDoc("fault", "methodResponse"); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, syntaxErrorf("fault is not a struct")
	}
	code, ok := m["faultCode"].(int64)
	if !ok {
		return nil, syntaxErrorf("fault without an integer faultCode")
	}
	msg, ok := m["faultString"].(string)
	if !ok {
		return nil, syntaxErrorf("fault without a faultString")
	}
	return &transport.Fault{Code: int(code), Message: cut(msg, MaxFaultString)}, nil
}

// replyValue reads a small reply's value, after replyStart, through the end
// of the document.
func (d *xmlDecoder) replyValue() (any, error) {
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	return v, d.closeDoc("param", "params", "methodResponse")
}

// The end tags that close a reply after an untyped value and after a
// typed one. Read only.
var (
	afterValue = []string{"param", "params", "methodResponse"}
	afterTyped = []string{"value", "param", "params", "methodResponse"}
)

// contents are a reply's file contents, as valueStart found them.
type contents struct {
	d    *xmlDecoder
	text bool
	// lead is text of an untyped value, decoded while looking for a
	// type tag.
	lead []byte
	// elem is the element whose text holds the rest of the contents
	// ("string", "base64", or "value" for an untyped value), the
	// decoder standing in it; "" if the contents are lead alone, the
	// document read to its end.
	elem string
}

// valueStart reads the value of a reply after replyStart up to its file
// contents: a <string>, an untyped value or <base64>.
func (d *xmlDecoder) valueStart() (contents, error) {
	// Hold back leading whitespace: it is the value itself if the value
	// turns out to be untyped, and mere layout if a type tag follows.
	// Replies have none there, as a rule: look before making a buffer.
	var lead []byte
	if b, _ := d.r.Peek(1); len(b) == 0 || b[0] != '<' {
		buf := make([]byte, 4096)
		for {
			n, err := d.readChars(buf)
			lead = append(lead, buf[:n]...)
			if err == errAtTag {
				break
			}
			if err != nil {
				return contents{}, err
			}
			if strings.Trim(string(buf[:n]), " \t\r\n") != "" {
				// Untyped text: the value is everything up to </value>.
				return contents{d: d, text: true, lead: lead, elem: "value"}, nil
			}
			if len(lead) > maxLeadingSpace {
				return contents{}, syntaxErrorf("more than %d bytes of whitespace in a value", maxLeadingSpace)
			}
		}
	}
	t, err := d.nextTag()
	if err != nil {
		return contents{}, err
	}
	switch t {
	case end("value"):
		return contents{d: d, text: true, lead: lead}, d.closeDoc(afterValue...)
	case tag{name: "string", empty: true}:
		return contents{d: d, text: true}, d.closeDoc(afterTyped...)
	case tag{name: "base64", empty: true}:
		return contents{d: d}, d.closeDoc(afterTyped...)
	case start("string"):
		return contents{d: d, text: true, elem: "string"}, nil
	case start("base64"):
		return contents{d: d, elem: "base64"}, nil
	}
	return contents{}, syntaxErrorf("got %s, want file contents as <string> or <base64>", t)
}

// stream returns a stream of the text of c.elem, through the end of the
// document: decoded, or escaped again (textStream.escaped).
func (c contents) stream(escaped bool) *textStream {
	after := afterTyped
	if c.elem == "value" {
		after = afterValue
	}
	return &textStream{d: c.d, end: c.elem, after: after, escaped: escaped}
}

// decoded returns the contents, decoded as they are read.
func (c contents) decoded() io.Reader {
	switch {
	case c.elem == "":
		return bytes.NewReader(c.lead)
	case !c.text:
		return newBase64Stream(base64Text{c.stream(false)}, c.d.r.Size())
	case len(c.lead) > 0:
		return io.MultiReader(bytes.NewReader(c.lead), c.stream(false))
	}
	return c.stream(false)
}

// encoded returns the contents still encoded, in the form this package
// sends them (EncodingText, EncodingBase64), checked as they are read:
// they give what decoded gives, encoded again, and fail where it fails.
func (c contents) encoded() io.Reader {
	if !c.text {
		if c.elem == "" {
			return bytes.NewReader(nil)
		}
		return &base64Check{src: base64Text{c.stream(false)}}
	}
	// The lead was decoded, and so checked: escaping it cannot fail.
	lead, _, _ := appendEscaped(nil, c.lead, true)
	switch {
	case c.elem == "":
		return bytes.NewReader(lead)
	case len(lead) > 0:
		return io.MultiReader(bytes.NewReader(lead), c.stream(true))
	}
	return c.stream(true)
}

// faultDoc is a fault reply.
func faultDoc(code int, msg string) []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n" +
		"<member>\n<name>faultCode</name>\n<value><int>")
	b.WriteString(strconv.Itoa(code))
	b.WriteString("</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>")
	escapeLossy(&b, msg)
	b.WriteString("</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n")
	return b.Bytes()
}

// intDoc is an <int> reply: what hello and fetch return.
func intDoc(v int) []byte {
	return []byte(replyHead + "<int>" + strconv.Itoa(v) + "</int>" + replyTail)
}

// valueDoc is a reply of v, a value of any type Caller names.
func valueDoc(v any) ([]byte, error) {
	b, err := appendValue([]byte(replyHead), v, 0)
	if err != nil {
		return nil, err
	}
	return append(b, replyTail...), nil
}

// stringsDoc is a reply of an array of strings: what list returns.
func stringsDoc(names []string) []byte {
	var b bytes.Buffer
	b.WriteString(replyHead + "<array><data>\n")
	for _, s := range names {
		b.WriteString("<value><string>")
		escapeLossy(&b, s)
		b.WriteString("</string></value>\n")
	}
	b.WriteString("</data></array>" + replyTail)
	return b.Bytes()
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

// copyEncoder passes on what r gives, already encoded.
type copyEncoder struct{ r io.Reader }

func (e *copyEncoder) fill(out *[]byte) (bool, error) {
	b := *out
	n, err := io.ReadFull(e.r, b[len(b):cap(b)])
	*out = b[:len(b)+n]
	switch err {
	case nil:
		return false, nil
	case io.EOF, io.ErrUnexpectedEOF:
		return true, nil
	}
	return false, err
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
// writes. The goroutines are waited for before copyParallel returns, even
// when a write fails. Nothing is written before the first chunk is
// encoded.
//
// A second path, kept for its figure: BenchmarkFileReply text and binary,
// parallel against stream (a settled 16 MiB file fetched over loopback by
// a raw HTTP client that decodes nothing), side by side in one run,
// medians of 5: text with an entity every 20 bytes 13.0 ms against
// 27.1 ms (2.1x), random bytes as base64 14.1 ms against 23.2 ms (1.65x).
// With the client in the same process, decoding the reply on the second
// core, the two were even (0.94-0.99x).
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
