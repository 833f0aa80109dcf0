package transport

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"unicode/utf8"
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
			if !isXMLChar(r) {
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
			if !isXMLChar(r) {
				return escLen, i, errNotText
			}
			escLen += int64(size)
			i += size
		}
	}
	return escLen, i, nil
}

// escapeString escapes s for an XML-RPC request, or fails if s is not text
// XML can carry: a name that cannot be sent as it is must not be sent as
// something else.
func escapeString(b *bytes.Buffer, s string) error {
	out, used, err := appendEscaped(b.AvailableBuffer(), []byte(s), true)
	if err == nil && used != len(s) {
		err = errNotText
	}
	if err != nil {
		return fmt.Errorf("%w: %q", err, truncate(s))
	}
	b.Write(out)
	return nil
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

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// encodeCall writes a <methodCall> whose arguments are strings or string
// slices, laid out as Python lays them out.
func encodeCall(method string, args ...any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodCall>\n<methodName>")
	b.WriteString(method)
	b.WriteString("</methodName>\n<params>\n")
	for _, a := range args {
		b.WriteString("<param>\n<value>")
		switch a := a.(type) {
		case string:
			b.WriteString("<string>")
			if err := escapeString(&b, a); err != nil {
				return nil, err
			}
			b.WriteString("</string>")
		case []string:
			b.WriteString("<array><data>\n")
			for _, s := range a {
				b.WriteString("<value><string>")
				if err := escapeString(&b, s); err != nil {
					return nil, err
				}
				b.WriteString("</string></value>\n")
			}
			b.WriteString("</data></array>")
		default:
			return nil, fmt.Errorf("transport: cannot encode %T", a)
		}
		b.WriteString("</value>\n</param>\n")
	}
	b.WriteString("</params>\n</methodCall>\n")
	return b.Bytes(), nil
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
func writeQueryReply(w http.ResponseWriter, body io.Reader) error {
	var (
		text   bool
		length int64 = -1 // of the encoded contents, if known
	)
	switch b := body.(type) {
	case Texter:
		text = b.IsText()
	case io.ReadSeeker:
		var err error
		if text, length, err = scanSeeker(b); err != nil {
			return err
		}
	default:
		rs, cleanup, err := spool(body)
		if err != nil {
			return err
		}
		defer cleanup()
		if text, length, err = scanSeeker(rs); err != nil {
			return err
		}
		body = rs
	}
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
	if _, err := io.WriteString(w, replyHead+open); err != nil {
		return err
	}
	var err error
	if text {
		err = copyEscaped(w, body, length)
	} else {
		err = copyBase64(w, body, length)
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, close+replyTail)
	return err
}

// bufSize picks a buffer for a stream whose encoded length may be known,
// so that small files do not pay for large buffers.
func bufSize(length int64) int {
	if length >= 0 && length < ioChunk {
		return int(length) + utf8.UTFMax
	}
	return ioChunk
}

// scanSeeker reads rs from where it stands to its end to learn whether it
// is text, and rewinds it. length is the size of the encoded contents.
func scanSeeker(rs io.ReadSeeker) (text bool, length int64, err error) {
	pos, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return false, 0, err
	}
	endPos, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return false, 0, err
	}
	if _, err := rs.Seek(pos, io.SeekStart); err != nil {
		return false, 0, err
	}
	size := endPos - pos
	text, length = true, 0
	buf := make([]byte, bufSize(size))
	carry := 0
	for {
		n, rerr := io.ReadFull(rs, buf[carry:])
		n += carry
		eof := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !eof {
			return false, 0, rerr
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
		return false, 0, err
	}
	return text, length, nil
}

// copyEscaped streams r to w as escaped text. A body that turns out not to
// be text (a Texter that was wrong, a file changed since it was scanned)
// is an error.
func copyEscaped(w io.Writer, r io.Reader, length int64) error {
	in := make([]byte, bufSize(length))
	out := make([]byte, 0, 2*len(in))
	carry := 0
	for {
		n, rerr := io.ReadFull(r, in[carry:])
		n += carry
		eof := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !eof {
			return rerr
		}
		var (
			used int
			err  error
		)
		out, used, err = appendEscaped(out[:0], in[:n], eof)
		if _, werr := w.Write(out); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
		carry = copy(in, in[used:n])
		if eof {
			return nil
		}
	}
}

// copyBase64 streams r to w as base64 on one line, which Python reads as
// well as its own 76-column lines.
func copyBase64(w io.Writer, r io.Reader, length int64) error {
	size := bufSize(length) / 4 * 3
	if size < 3 {
		size = 3
	}
	in := make([]byte, size-size%3)
	out := make([]byte, base64.StdEncoding.EncodedLen(len(in)))
	for {
		n, rerr := io.ReadFull(r, in)
		if n > 0 {
			k := base64.StdEncoding.EncodedLen(n)
			base64.StdEncoding.Encode(out, in[:n])
			if _, err := w.Write(out[:k]); err != nil {
				return err
			}
		}
		switch rerr {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return nil
		default:
			return rerr
		}
	}
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
