package xmlrpc

// The XML-RPC codec is written by hand rather than built on
// github.com/kolo/xmlrpc (used by the tests as a cross-check) or
// encoding/xml, because the hot path must stream: a file's contents arrive
// as one XML text node that may be a gigabyte long. kolo/xmlrpc reads the
// whole body into memory, decodes through reflection (50-100 MB/s on 16 MiB
// values), has no server side, no context, turns faults into strings and
// shuts its client down after one bad reply; encoding/xml returns a text
// node as one token, so it buffers it whole too. The protocol uses a small,
// fixed subset of XML, and the decoder below reads just that subset, as a
// conforming XML parser such as Python's expat would: entities and
// character references decoded, raw CR and CRLF read as LF, UTF-8 and the
// XML 1.0 character set enforced, comments and processing instructions
// skipped, DOCTYPE and CDATA refused.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/filepeer/peer/transport/internal/wire"
)

const (
	// maxValueDepth caps how deeply arrays and structs nest in a value.
	maxValueDepth = wire.MaxDepth
	// maxTagLen caps an element name and its attributes.
	maxTagLen = 256
	// maxSkipLen caps a comment or a processing instruction.
	maxSkipLen = 64 << 10
	// maxEntityLen caps a character reference such as "&#x10FFFF;".
	maxEntityLen = 16
	// maxLeadingSpace caps the whitespace held back at the start of a
	// value while deciding whether it is an untyped string or a typed one.
	maxLeadingSpace = 1 << 20
)

// errAtTag is returned by readChars when the text ends at a tag.
var errAtTag = errors.New("transport: text ends at a tag")

// SyntaxError reports a document that is not the XML-RPC the protocol
// speaks: malformed XML, an unexpected element, a value of the wrong kind.
type SyntaxError struct {
	Msg string
}

func (e *SyntaxError) Error() string { return "transport: malformed XML-RPC: " + e.Msg }

func syntaxErrorf(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...)}
}

// xmlDecoder reads the XML subset of XML-RPC from a buffered stream.
type xmlDecoder struct {
	r *bufio.Reader
	// budget is what small values (names, fault strings, lists) may still
	// take in memory; streamed file contents do not count.
	budget int64
	// pend holds the bytes of a character that did not fit the caller's
	// buffer: decoded, or escaped for readEscaped ("&amp;" is 5 bytes).
	pend    []byte
	pendBuf [8]byte
	started bool
	// slow counts down the characters to read one at a time, after the
	// bulk path refused the text they are in.
	slow int
	// bulk is how much of the buffer the bulk path looks at: from 64
	// bytes after a character it could not take, doubling each time it
	// takes all it looked at (0: 64).
	bulk int
}

func newXMLDecoder(r *bufio.Reader, budget int64) *xmlDecoder {
	return &xmlDecoder{r: r, budget: budget}
}

// errEndOfDocument reports the end of the stream in mid-document. It is a
// value, not made per call, because expectEOF meets it on every document.
var errEndOfDocument error = &SyntaxError{Msg: "unexpected end of document"}

// eofError turns the end of the stream in mid-document into an error.
func eofError(err error) error {
	if err == io.EOF {
		return errEndOfDocument
	}
	return err
}

// tag is a start, end or empty-element tag.
type tag struct {
	name  string
	end   bool // </name>
	empty bool // <name/>
}

func (t tag) String() string {
	switch {
	case t.end:
		return "</" + t.name + ">"
	case t.empty:
		return "<" + t.name + "/>"
	}
	return "<" + t.name + ">"
}

// nextTag skips whitespace, comments and processing instructions, and reads
// the next tag. Text other than whitespace is an error.
func (d *xmlDecoder) nextTag() (tag, error) {
	if !d.started {
		d.started = true
		// A UTF-8 byte order mark may open the document.
		if b, _ := d.r.Peek(3); string(b) == "\xEF\xBB\xBF" {
			d.r.Discard(3)
		}
	}
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			return tag{}, eofError(err)
		}
		if isSpace(c) {
			continue
		}
		if c != '<' {
			return tag{}, syntaxErrorf("unexpected text %q where a tag belongs", c)
		}
		t, skip, err := d.readTag()
		if err != nil {
			return tag{}, err
		}
		if !skip {
			return t, nil
		}
	}
}

// readTag reads a tag after its '<'. skip is true for a comment or a
// processing instruction, which the caller passes over.
func (d *xmlDecoder) readTag() (t tag, skip bool, err error) {
	b, err := d.r.Peek(1)
	if err != nil {
		return tag{}, false, eofError(err)
	}
	switch b[0] {
	case '?':
		return tag{}, true, d.skipUntil("?>")
	case '!':
		b, _ = d.r.Peek(3)
		if string(b) == "!--" {
			d.r.Discard(3)
			return tag{}, true, d.skipUntil("-->")
		}
		if b, _ = d.r.Peek(8); string(b) == "![CDATA[" {
			return tag{}, false, syntaxErrorf("CDATA sections are not supported")
		}
		return tag{}, false, syntaxErrorf("DOCTYPE and other declarations are not allowed")
	}
	raw, err := d.tagText()
	if err != nil {
		return tag{}, false, err
	}
	t, err = parseTag(raw)
	return t, false, err
}

// parseTag parses what lies between a tag's '<' and '>'.
func parseTag(raw []byte) (t tag, err error) {
	s := raw
	if len(s) > 0 && s[0] == '/' {
		t.end = true
		s = s[1:]
	}
	if len(s) > maxTagLen {
		return tag{}, syntaxErrorf("tag longer than %d bytes", maxTagLen)
	}
	if !t.end && len(s) > 0 && s[len(s)-1] == '/' {
		t.empty = true
		s = s[:len(s)-1]
	}
	// Attributes are allowed and ignored: XML-RPC defines none. A loop
	// finds the end of the name: bytes.IndexAny built a set on each call
	// and was a fifth of decoding a request.
	name, rest := s, []byte(nil)
	for i, c := range s {
		if isSpace(c) {
			name, rest = s[:i], s[i:]
			break
		}
	}
	if len(name) == 0 || !validName(name) {
		return tag{}, syntaxErrorf("bad tag <%s>", truncateQ(string(raw)))
	}
	if t.end && len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
		return tag{}, syntaxErrorf("bad end tag <%s>", truncateQ(string(raw)))
	}
	t.name = elementName(name)
	return t, nil
}

// tagText reads the rest of a tag through its '>' and returns what lies
// before the '>'. The bytes are valid until the next read.
func (d *xmlDecoder) tagText() ([]byte, error) {
	// Most tags sit whole in the buffer: take them from there.
	// It may hold an end tag's '/' and maxTagLen more; parseTag checks
	// the length exactly.
	buf, _ := d.r.Peek(d.r.Buffered())
	if k := bytes.IndexByte(buf[:min(len(buf), maxTagLen+2)], '>'); k >= 0 {
		d.r.Discard(k + 1)
		return buf[:k], nil
	}
	var b []byte
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			return nil, eofError(err)
		}
		if c == '>' {
			return b, nil
		}
		if len(b) > maxTagLen {
			return nil, syntaxErrorf("tag longer than %d bytes", maxTagLen)
		}
		b = append(b, c)
	}
}

// elementName returns name as a string, without allocating for the
// elements of XML-RPC: a call or a reply has a dozen tags, and building
// each name a byte at a time was a fifth of a small call's allocations.
func elementName(name []byte) string {
	switch string(name) {
	case "value":
		return "value"
	case "string":
		return "string"
	case "param":
		return "param"
	case "params":
		return "params"
	case "array":
		return "array"
	case "data":
		return "data"
	case "methodCall":
		return "methodCall"
	case "methodName":
		return "methodName"
	case "methodResponse":
		return "methodResponse"
	case "base64":
		return "base64"
	case "int":
		return "int"
	case "i4":
		return "i4"
	case "struct":
		return "struct"
	case "member":
		return "member"
	case "name":
		return "name"
	case "fault":
		return "fault"
	}
	return string(name)
}

// validName reports whether s is an element name this decoder accepts: the
// ASCII part of XML's names, which covers every XML-RPC element.
func validName(s []byte) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == ':':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

func truncateQ(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return strconv.Quote(s)[1 : len(strconv.Quote(s))-1]
}

// skipUntil discards input up to and including end.
func (d *xmlDecoder) skipUntil(end string) error {
	matched := 0
	for n := 0; n < maxSkipLen; n++ {
		c, err := d.r.ReadByte()
		if err != nil {
			return eofError(err)
		}
		switch {
		case c == end[matched]:
			matched++
			if matched == len(end) {
				return nil
			}
		case c == end[0]:
			matched = 1
		default:
			matched = 0
		}
	}
	return syntaxErrorf("comment or processing instruction longer than %d bytes", maxSkipLen)
}

// expect reads the next tag and checks that it is want.
func (d *xmlDecoder) expect(want tag) error {
	t, err := d.nextTag()
	if err != nil {
		return err
	}
	if t != want {
		return syntaxErrorf("got %s, want %s", t, want)
	}
	return nil
}

func start(name string) tag { return tag{name: name} }

func end(name string) tag { return tag{name: name, end: true} }

// expectEOF checks that nothing but whitespace, comments and processing
// instructions follows the document.
func (d *xmlDecoder) expectEOF() error {
	t, err := d.nextTag()
	if err == nil {
		return syntaxErrorf("%s after the end of the document", t)
	}
	if err == errEndOfDocument {
		return nil
	}
	return err
}

// closeDoc reads the end tags named, innermost first, and the end of the
// document.
func (d *xmlDecoder) closeDoc(names ...string) error {
	for _, name := range names {
		if err := d.expect(end(name)); err != nil {
			return err
		}
	}
	return d.expectEOF()
}

// readChars reads decoded text into p, up to the next tag, which it leaves
// unread. It returns errAtTag, with n == 0, when the text has ended.
func (d *xmlDecoder) readChars(p []byte) (n int, err error) {
	if len(d.pend) > 0 {
		n = copy(p, d.pend)
		d.pend = d.pend[n:]
		return n, nil
	}
	for n < len(p) {
		if _, err := d.r.Peek(1); err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, eofError(err)
		}
		if d.slow <= 0 {
			// The bulk path checks what it looks at before it decodes
			// it: looking at the whole buffer before each character
			// of a text of character references only made that text
			// quadratic (BenchmarkPassThrough/refs/decode: 4.2-4.4 MB/s;
			// 56-57 MB/s so, other text as fast within the noise).
			buf, _ := d.r.Peek(d.r.Buffered())
			look := min(len(buf), max(d.bulk, 64))
			i, m, refused := bulkChars(p[n:], buf[:look])
			n += m
			if i > 0 {
				d.bulk = 2 * look
				d.r.Discard(i)
				continue
			}
			d.bulk = 64
			// Text the bulk path refused holds a character that is
			// not allowed: go one character at a time through it,
			// to the error, rather than check it whole again after
			// each character.
			d.slow = refused
		}
		d.slow--
		var ch [utf8.UTFMax]byte
		k, err := d.readChar(ch[:])
		m := copy(p[n:], ch[:k])
		n += m
		d.pend = d.pendBuf[:copy(d.pendBuf[:], ch[m:k])]
		if err == errAtTag && n > 0 {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readChar reads one character of text, decoded, into p, which has room
// for utf8.UTFMax bytes: an entity, a raw CR (read as LF; the CR of a
// CRLF reads as nothing, the LF standing for both) or a UTF-8 character
// that XML allows. At a tag it reads nothing and returns errAtTag. It is
// the exact path that the bulk ones fall back to, and that reports
// errors at the right byte.
func (d *xmlDecoder) readChar(p []byte) (int, error) {
	b, err := d.r.Peek(1)
	if err != nil {
		return 0, eofError(err)
	}
	switch c := b[0]; {
	case c == '<':
		return 0, errAtTag
	case c == '&':
		r, err := d.readEntity()
		if err != nil {
			return 0, err
		}
		return utf8.EncodeRune(p, r), nil
	case c == '\r':
		// XML reads a raw CRLF or a lone CR as LF; "&#13;" stays CR.
		d.r.Discard(1)
		if b, _ := d.r.Peek(1); len(b) == 1 && b[0] == '\n' {
			return 0, nil
		}
		p[0] = '\n'
		return 1, nil
	case c >= 0x20 && c < utf8.RuneSelf, c == '\t', c == '\n':
		p[0] = c
		d.r.Discard(1)
		return 1, nil
	case c < utf8.RuneSelf:
		return 0, syntaxErrorf("character %#x is not allowed in XML", c)
	}
	b, _ = d.r.Peek(utf8.UTFMax)
	r, size := utf8.DecodeRune(b)
	if r == utf8.RuneError && size <= 1 {
		return 0, syntaxErrorf("invalid UTF-8")
	}
	if !wire.IsXMLChar(r) {
		return 0, syntaxErrorf("character %U is not allowed in XML", r)
	}
	copy(p, b[:size])
	d.r.Discard(size)
	return size, nil
}

// bulkChars decodes into p what it can of the buffered text buf in bulk:
// text up to the next tag, up to an entity other than the four this
// package and Python write, or up to what it cannot check whole (a
// character cut short by the end of buf). It returns the bytes of buf
// used and of p written; readChars does the rest one character at a time.
// If the text holds a character XML does not allow, it uses nothing and
// returns the length of the text it refused.
//
// A second path, kept for its figure: BenchmarkCodec decode against
// decode-exact (every character through readChars), side by side in one
// run, decoded 4 MiB of prose 9.9x as fast (3.4 ms against 33 ms); a
// 16 MiB prose reply over loopback took 5.6x as long with the exact path
// only. Text that decodes as itself is first taken 32 bytes at a time by
// plainBlocks, where the processor can: BenchmarkPassThrough plain/decode,
// 4 MiB, 0.56 ms against 2.27 ms without it, and BenchmarkBase64
// decode-checked 4.25 ms against 6.06 ms, side by side in one run,
// medians of 3; text with entities as fast either way.
func bulkChars(p, buf []byte) (used, written, refused int) {
	// Decoding never lengthens text, so len(p) bytes of input fit.
	seg := buf[:min(len(buf), len(p))]
	if k := plainBlocks(seg); k > 0 {
		return k, copy(p, seg[:k]), 0
	}
	if k := bytes.IndexByte(seg, '<'); k >= 0 {
		seg = seg[:k]
	}
	seg = seg[:len(seg)-incompleteTail(seg)]
	if !utf8.Valid(seg) || hasNonChars(seg) {
		return 0, 0, len(seg)
	}
	written, used, ctl := decodeValid(p, seg)
	// decodeValid counted the bytes below 0x20 it read: all must be
	// tabs, LFs and CRs.
	if ctl != 0 && ctl != bytes.Count(seg[:used], []byte{'\n'})+bytes.Count(seg[:used], []byte{'\t'})+bytes.Count(seg[:used], []byte{'\r'}) {
		return 0, 0, len(seg)
	}
	return used, written, 0
}

const (
	amp8 = '&' * lo8
	cr8  = '\r' * lo8
)

// decodeMask is non-zero if w holds '&' or CR, the bytes the decoder's
// bulk path does not copy as they are. Zero is exact.
func decodeMask(w uint64) uint64 {
	a, r := w^amp8, w^cr8
	return ((a-lo8)&^a | (r-lo8)&^r) & hi8
}

// decodeValid decodes text that holds no '<' from src into dst: the
// entities Python and this package write become their characters, and a
// raw CR or CRLF becomes LF, as an XML parser reads them. It stops where
// the bulk path cannot go on (another entity, or one or a CR cut short by
// the end of src, or dst full) and returns the bytes written and read, and
// ctl, how many of the bytes read are below 0x20, for the caller to check
// against the tabs, LFs and CRs among them: counting here, in the loop
// that reads every word anyway, saved a pass over the text.
func decodeValid(dst, src []byte) (o, i, ctl int) {
	for i < len(src) && o < len(dst) {
		if i+8 <= len(src) && o+8 <= len(dst) {
			// The word is stored whole; o and i move past its plain
			// bytes, which the mask's first flag marks exactly.
			w := binary.LittleEndian.Uint64(src[i:])
			binary.LittleEndian.PutUint64(dst[o:], w)
			c := ctlMask(w)
			m := decodeMask(w)
			if m == 0 {
				ctl += bits.OnesCount64(c)
				i, o = i+8, o+8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3
			ctl += bits.OnesCount64(c & (1<<(8*k) - 1))
			i, o = i+k, o+k
		}
		switch c := src[i]; c {
		case '&':
			rest := src[i:]
			switch {
			case len(rest) >= 5 && string(rest[:5]) == "&amp;":
				dst[o] = '&'
				i += 5
			case len(rest) >= 4 && string(rest[:4]) == "&lt;":
				dst[o] = '<'
				i += 4
			case len(rest) >= 4 && string(rest[:4]) == "&gt;":
				dst[o] = '>'
				i += 4
			case len(rest) >= 5 && string(rest[:5]) == "&#13;":
				dst[o] = '\r'
				i += 5
			default:
				return o, i, ctl
			}
			o++
		case '\r':
			if i+1 == len(src) {
				return o, i, ctl
			}
			ctl++
			if src[i+1] == '\n' {
				i++ // the LF that follows stands for the pair
				continue
			}
			dst[o] = '\n'
			i, o = i+1, o+1
		default:
			if c < 0x20 {
				ctl++
			}
			dst[o] = c
			i, o = i+1, o+1
		}
	}
	return o, i, ctl
}

// readEntity reads an entity or character reference at '&'.
func (d *xmlDecoder) readEntity() (rune, error) {
	b, _ := d.r.Peek(maxEntityLen)
	semi := -1
	for i, c := range b {
		if c == ';' {
			semi = i
			break
		}
	}
	if semi < 0 {
		return 0, syntaxErrorf("unterminated or overlong entity %q", b)
	}
	nb := b[1:semi]
	// Switching on string(nb) does not allocate; entities are frequent.
	var named rune
	switch string(nb) {
	case "amp":
		named = '&'
	case "lt":
		named = '<'
	case "gt":
		named = '>'
	case "quot":
		named = '"'
	case "apos":
		named = '\''
	}
	if named != 0 {
		d.r.Discard(semi + 1)
		return named, nil
	}
	name := string(nb)
	d.r.Discard(semi + 1)
	var (
		v   uint64
		err error
	)
	switch {
	case strings.HasPrefix(name, "#x"):
		v, err = strconv.ParseUint(name[2:], 16, 32)
	case strings.HasPrefix(name, "#"):
		v, err = strconv.ParseUint(name[1:], 10, 32)
	default:
		return 0, syntaxErrorf("unknown entity &%s;", name)
	}
	if err != nil || name[len(name)-1] == '+' || strings.ContainsAny(name[1:], "+-") {
		return 0, syntaxErrorf("bad character reference &%s;", name)
	}
	if v > utf8.MaxRune || !wire.IsXMLChar(rune(v)) {
		return 0, syntaxErrorf("character reference &%s; is not an XML character", name)
	}
	return rune(v), nil
}

// smallText reads the text up to the next tag into memory, charging it to
// the decoder's budget.
func (d *xmlDecoder) smallText() (string, error) {
	var sb strings.Builder
	var buf [512]byte
	for {
		n, err := d.readChars(buf[:])
		sb.Write(buf[:n])
		d.budget -= int64(n)
		if d.budget < 0 {
			return "", syntaxErrorf("values too large")
		}
		if err == errAtTag {
			return sb.String(), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// textIn reads the text of the element t just opened, up to its end tag.
func (d *xmlDecoder) textIn(t tag) (string, error) {
	if t.empty {
		return "", nil
	}
	s, err := d.smallText()
	if err != nil {
		return "", err
	}
	return s, d.expect(end(t.name))
}
