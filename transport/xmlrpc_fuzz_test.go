package transport

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
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
