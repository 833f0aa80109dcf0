package xmlrpc

import (
	"bytes"
	"io"
	"strconv"
	"strings"

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

// valueStream reads the value of a reply after replyStart as a stream of
// file contents: a <string>, an untyped value or <base64>. text reports
// which kind it was.
func (d *xmlDecoder) valueStream() (r io.Reader, text bool, err error) {
	after := afterValue
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
				return nil, false, err
			}
			if strings.Trim(string(buf[:n]), " \t\r\n") != "" {
				// Untyped text: the value is everything up to </value>.
				s := &textStream{d: d, end: "value", after: after}
				return io.MultiReader(strings.NewReader(string(lead)), s), true, nil
			}
			if len(lead) > maxLeadingSpace {
				return nil, false, syntaxErrorf("more than %d bytes of whitespace in a value", maxLeadingSpace)
			}
		}
	}
	t, err := d.nextTag()
	if err != nil {
		return nil, false, err
	}
	switch t {
	case end("value"):
		return strings.NewReader(string(lead)), true, d.closeDoc(after...)
	case tag{name: "string", empty: true}:
		return strings.NewReader(""), true, d.closeDoc(afterTyped...)
	case tag{name: "base64", empty: true}:
		return strings.NewReader(""), false, d.closeDoc(afterTyped...)
	case start("string"):
		return &textStream{d: d, end: "string", after: afterTyped}, true, nil
	case start("base64"):
		s := &textStream{d: d, end: "base64", after: afterTyped}
		return newBase64Stream(base64Text{s}, d.r.Size()), false, nil
	}
	return nil, false, syntaxErrorf("got %s, want file contents as <string> or <base64>", t)
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
