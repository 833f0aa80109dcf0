package xmlrpc

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/transport"
)

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// FuzzDecodeRequest feeds the request decoder arbitrary documents: it must
// never panic, and what it decodes must stay within the caps. It also reads
// each document a byte at a time, which keeps the decoder off its fast
// paths (they work on what the buffer holds), and wants the same result.
func FuzzDecodeRequest(f *testing.F) {
	seeds := []string{
		"<?xml version='1.0'?>\n<methodCall>\n<methodName>query</methodName>\n<params>\n<param>\n<value><string>a.txt</string></value>\n</param>\n<param>\n<value><array><data>\n<value><string>http://x:1</string></value>\n</data></array></value>\n</param>\n</params>\n</methodCall>\n",
		"<methodCall><methodName>hello</methodName><params><param><value>http://a:1</value></param></params></methodCall>",
		"<methodCall><methodName>x</methodName><params><param><value><struct><member><name>a</name><value><i4>1</i4></value></member></struct></value></param></params></methodCall>",
		"<methodCall><methodName>x</methodName><params><param><value><base64>AAEC</base64></value></param><param><value><double>1.5</double></value></param><param><value><boolean>1</boolean></value></param><param><value><nil/></value></param></params></methodCall>",
		"<methodCall><methodName>a&amp;&#x41;&#66;</methodName><params/></methodCall><!-- x -->",
		"<methodCall><methodName>q</methodName><params><param><value><array><data><value><array><data></data></array></value></data></array></value></param></params></methodCall>",
		"<methodCall><methodName>q</methodName><params><param><value><string>a\r\nb\rc</string></value></param><param><value><string>\td&lt;</string></value></param><param><value> x\u00e9 </value></param></params></methodCall>",
	}
	// Simple calls in each of the shapes parseSimpleCall takes.
	seeds = append(seeds,
		"  <?xml version=\"1.0\"?><methodCall><methodName></methodName><params></params></methodCall>\n",
		"<methodCall>\n<methodName>fetch</methodName>\n<params>\n<param><value> <string>a b</string>\t</value></param>\n<param><value>untyped &gt;</value></param>\n</params>\n</methodCall>",
		"<methodCall><methodName>q</methodName><params><param><value><string/></value></param><param><value><array><data><value>u</value><value> <string>s</string> </value></data></array></value></param></params></methodCall>",
		"<methodCall><methodName>q</methodName><params><param><value>  </value></param><param><value><array><data></data></array></value></param></params></methodCall>")
	// Tag names at the length cap and one past it, as start and end tags.
	for _, n := range []int{maxTagLen - 1, maxTagLen, maxTagLen + 1} {
		name := strings.Repeat("n", n)
		seeds = append(seeds,
			"<methodCall><methodName>q</methodName><params><param><value><"+name+">x</"+name+"></value></param></params></methodCall>",
			"<methodCall><methodName>q</methodName><params><param><value><"+name+"/></value></param></params></methodCall>")
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	const budget = 4 << 10
	f.Fuzz(func(t *testing.T, doc []byte) {
		d := newXMLDecoder(bufioReader(doc), budget)
		method, params, err := d.request()
		slow := newXMLDecoder(bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(doc)), 16), budget)
		smethod, sparams, serr := slow.request()
		require.Equal(t, err == nil, serr == nil, "fast: %v, slow: %v", err, serr)
		if m, ps, ok := parseSimpleCall(doc); ok {
			require.NoError(t, err, "parseSimpleCall took what the decoder refuses")
			require.Equal(t, method, m)
			require.Equal(t, params, ps)
		}
		if err != nil {
			return
		}
		require.Equal(t, smethod, method)
		require.Equal(t, sparams, params)
		size := len(method)
		var walk func(v any, depth int)
		walk = func(v any, depth int) {
			if depth > maxValueDepth+1 {
				t.Fatalf("value nested %d deep", depth)
			}
			switch v := v.(type) {
			case string:
				size += len(v)
			case []byte:
				size += len(v)
			case []any:
				for _, e := range v {
					walk(e, depth+1)
				}
			case map[string]any:
				for k, e := range v {
					size += len(k)
					walk(e, depth+1)
				}
			}
		}
		for _, p := range params {
			walk(p, 0)
		}
		if size > budget+len(doc) || size > 2*len(doc)+16 {
			t.Fatalf("decoded %d bytes from a %d-byte document", size, len(doc))
		}
	})
}

// FuzzDecodeReplyFault feeds the reply decoder arbitrary documents, most
// of them faults: it must never panic, a fault it returns must keep at
// most MaxFaultString bytes of message, valid UTF-8 if the document was,
// and reading byte by byte must give the same result.
func FuzzDecodeReplyFault(f *testing.F) {
	fault := func(code, msg string) string {
		return "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>" +
			code + "</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>" + msg +
			"</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n"
	}
	for _, s := range []string{
		fault("100", "Couldn't handle the query"),
		fault("200", "Access denied"),
		fault("1", "&lt;class 'TypeError'&gt;:query() takes 2 &amp; more"),
		fault("1", strings.Repeat("é", MaxFaultString)),
		fault("x", "a"),
		fault("1", ""),
		"<methodResponse><fault><value><struct><member><name>faultString</name><value>untyped</value></member><member><name>faultCode</name><value><i4>7</i4></value></member></struct></value></fault></methodResponse>",
		"<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member><member><name>faultString</name><value><string>a</string></value></member><member><name>extra</name><value><array><data><value/><value/></data></array></value></member></struct></value></fault></methodResponse>",
		"<methodResponse><fault><value><string>not a struct</string></value></fault></methodResponse>",
		"<methodResponse><params><param><value><int>0</int></value></param></params></methodResponse>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		decode := func(r *bufio.Reader) (*transport.Fault, error) {
			d := newXMLDecoder(r, 1<<20)
			return d.replyStart()
		}
		fl, err := decode(bufioReader(doc))
		sfl, serr := decode(bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(doc)), 16))
		require.Equal(t, err == nil, serr == nil, "fast: %v, slow: %v", err, serr)
		require.Equal(t, fl, sfl)
		if fl == nil {
			return
		}
		require.LessOrEqual(t, len(fl.Message), MaxFaultString+len("…[cut]"))
		if utf8.Valid(doc) {
			require.True(t, utf8.ValidString(fl.Message), "%q", fl.Message)
		}
		require.Less(t, len(fl.Error()), MaxFaultString+64)
	})
}
