package xmlrpc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/kolo/xmlrpc"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/filepeer/peer/transport"
)

// fakePeer serves contents from a map; its methods can be replaced.
type fakePeer struct {
	files   map[string][]byte
	kind    func([]byte) io.ReadCloser // how a body is handed over
	query   func(ctx context.Context, name string, history []string) (io.ReadCloser, error)
	mu      sync.Mutex
	hellos  []string
	history [][]string
}

func (p *fakePeer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	p.mu.Lock()
	p.history = append(p.history, history)
	p.mu.Unlock()
	if p.query != nil {
		return p.query(ctx, name, history)
	}
	b, ok := p.files[name]
	if !ok {
		return nil, &transport.Fault{Code: transport.CodeUnhandled, Message: "Couldn't handle the query"}
	}
	if p.kind != nil {
		return p.kind(b), nil
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (p *fakePeer) Hello(ctx context.Context, url string) error {
	if url == "bad" {
		return errors.New("no such thing")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hellos = append(p.hellos, url)
	return nil
}

func (p *fakePeer) Fetch(ctx context.Context, name, secret string) error {
	if secret != "s3cret" {
		return &transport.Fault{Code: transport.CodeAccessDenied, Message: "Access denied"}
	}
	return nil
}

func (p *fakePeer) List(ctx context.Context) ([]string, error) {
	return []string{"a.txt", "b<&>.bin"}, nil
}

// serve starts p on a loopback port and returns a client transport and the
// URL.
func serve(t testing.TB, p transport.Peer, cfg Config) (*Transport, string) {
	t.Helper()
	tr := New(cfg)
	l, err := tr.Listen("http://127.0.0.1:0", p)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, l.Close())
		tr.Close()
	})
	return tr, l.(interface{ URL() string }).URL()
}

func dial(t testing.TB, tr *Transport, url string) transport.Peer {
	t.Helper()
	c, err := tr.Dial(url)
	require.NoError(t, err)
	return c
}

// textCases and binaryCases are contents that must cross the wire exactly.
func contentCases() map[string]struct {
	b    []byte
	text bool
} {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 3<<20)
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abc <&>\r\n\té€😀\"'"
	for i := 0; i < len(big); {
		i += copy(big[i:], string([]rune(alphabet)[r.IntN(len([]rune(alphabet)))]))
	}
	big = bytes.ToValidUTF8(big[:len(big)-4], nil)
	bigBin := make([]byte, 3<<20+1)
	for i := range bigBin {
		bigBin[i] = byte(r.Uint32())
	}
	return map[string]struct {
		b    []byte
		text bool
	}{
		"empty":        {nil, true},
		"ascii":        {[]byte("hello, world\n"), true},
		"escapes":      {[]byte("a < b && c > d ]]> &amp; &#13;"), true},
		"crlf":         {[]byte("line one\r\nline two\r\n\rlone cr\r"), true},
		"unicode":      {[]byte("héllo wörld € 😀 \uFFFD \U0010FFFF"), true},
		"spaces":       {[]byte("   \n\t  "), true},
		"all bytes":    {all, false},
		"nul":          {[]byte("abc\x00def"), false},
		"control":      {[]byte("bell\x07"), false},
		"bad utf8":     {[]byte("caf\xe9"), false},
		"truncated":    {[]byte("euro \xe2\x82"), false},
		"surrogate":    {[]byte("\xed\xa0\x80"), false},
		"ufffe":        {[]byte("x\uFFFEy"), false},
		"big text":     {big, true},
		"big binary":   {bigBin, false},
		"one byte bin": {[]byte{0xff}, false},
	}
}

func TestXMLRPCContentRoundTrip(t *testing.T) {
	kinds := map[string]func([]byte) io.ReadCloser{
		"seeker": func(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) },
		"stream": func(b []byte) io.ReadCloser { return io.NopCloser(struct{ io.Reader }{bytes.NewReader(b)}) },
	}
	cases := contentCases()
	for kname, kind := range kinds {
		files := map[string][]byte{}
		for name, c := range cases {
			files[name] = c.b
		}
		tr, url := serve(t, &fakePeer{files: files, kind: kind}, Config{})
		c := dial(t, tr, url)
		for name, tc := range cases {
			t.Run(kname+"/"+name, func(t *testing.T) {
				body, err := c.Query(context.Background(), name, nil)
				require.NoError(t, err)
				defer body.Close()
				got, err := io.ReadAll(body)
				require.NoError(t, err)
				require.Equal(t, len(tc.b), len(got))
				require.True(t, bytes.Equal(tc.b, got), "contents differ")
				require.Equal(t, tc.text, body.(transport.Texter).IsText())
			})
		}
	}
}

// texterBody is a body that says what it is, as a relayed reply does.
type texterBody struct {
	io.Reader
	text bool
}

func (b texterBody) IsText() bool { return b.text }
func (b texterBody) Close() error { return nil }

func TestXMLRPCTexterIsTrusted(t *testing.T) {
	p := &fakePeer{query: func(ctx context.Context, name string, _ []string) (io.ReadCloser, error) {
		// Text sent as base64 because the body says so.
		return texterBody{strings.NewReader(name), name == "text"}, nil
	}}
	tr, url := serve(t, p, Config{})
	c := dial(t, tr, url)
	for _, name := range []string{"text", "binary"} {
		body, err := c.Query(context.Background(), name, nil)
		require.NoError(t, err)
		got, err := io.ReadAll(body)
		require.NoError(t, err)
		require.Equal(t, name, string(got))
		require.Equal(t, name == "text", body.(transport.Texter).IsText())
		body.Close()
	}

	// A Texter that claims text wrongly cuts the reply short: an error,
	// not wrong bytes.
	p.query = func(context.Context, string, []string) (io.ReadCloser, error) {
		return texterBody{strings.NewReader("ok\x00no"), true}, nil
	}
	body, err := c.Query(context.Background(), "x", nil)
	if err == nil {
		_, err = io.ReadAll(body)
		body.Close()
	}
	require.Error(t, err)
}

func TestXMLRPCMethods(t *testing.T) {
	p := &fakePeer{files: map[string][]byte{"a": []byte("A")}}
	tr, url := serve(t, p, Config{})
	c := dial(t, tr, url)
	ctx := context.Background()

	_, err := c.Query(ctx, "missing", []string{"http://x:1", "http://y:2"})
	var f *transport.Fault
	require.ErrorAs(t, err, &f)
	require.Equal(t, transport.CodeUnhandled, f.Code)
	require.Equal(t, "Couldn't handle the query", f.Message)
	require.ErrorIs(t, err, &transport.Fault{Code: transport.CodeUnhandled})
	p.mu.Lock()
	require.Equal(t, []string{"http://x:1", "http://y:2"}, p.history[len(p.history)-1])
	p.mu.Unlock()

	require.NoError(t, c.Hello(ctx, "http://z:3"))
	require.Equal(t, []string{"http://z:3"}, p.hellos)
	err = c.Hello(ctx, "bad")
	require.ErrorAs(t, err, &f)
	require.Equal(t, transport.CodeError, f.Code)
	require.Equal(t, "no such thing", f.Message)

	require.NoError(t, c.Fetch(ctx, "a", "s3cret"))
	require.ErrorIs(t, c.Fetch(ctx, "a", "wrong"), &transport.Fault{Code: transport.CodeAccessDenied})

	names, err := c.(transport.Lister).List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a.txt", "b<&>.bin"}, names)

	// A name XML cannot carry is an error before anything is sent.
	_, err = c.Query(ctx, "a\x00b", nil)
	require.ErrorIs(t, err, errNotText)
}

// post sends a raw request and decodes the reply with kolo/xmlrpc's
// decoder, an independent implementation.
func post(t *testing.T, url, body string) (string, *xmlrpc.FaultError) {
	t.Helper()
	resp, err := http.Post(url, "text/xml", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := xmlrpc.Response(raw)
	if err := r.Err(); err != nil {
		var fe xmlrpc.FaultError
		require.ErrorAs(t, err, &fe)
		return "", &fe
	}
	var s string
	if err := r.Unmarshal(&s); err != nil {
		var i int
		require.NoError(t, r.Unmarshal(&i), string(raw))
		return fmt.Sprint(i), nil
	}
	return s, nil
}

func TestXMLRPCHandlerBadRequests(t *testing.T) {
	p := &fakePeer{files: map[string][]byte{"a": []byte("A&B")}}
	_, url := serve(t, p, Config{MaxRequestBytes: 64 << 10})
	call := func(method, params string) string {
		return "<?xml version='1.0'?>\n<methodCall>\n<methodName>" + method +
			"</methodName>\n<params>\n" + params + "</params>\n</methodCall>\n"
	}
	str := func(s string) string { return "<param>\n<value><string>" + s + "</string></value>\n</param>\n" }
	deep := strings.Repeat("<value><array><data>", 40) + strings.Repeat("</data></array></value>", 40)
	faults := map[string]string{
		"unknown method":    call("frobnicate", ""),
		"private method":    call("_handle", str("a")),
		"query no args":     call("query", ""),
		"query three args":  call("query", str("a")+str("b")+str("c")),
		"query int name":    call("query", "<param><value><int>1</int></value></param>"),
		"query bad history": call("query", str("a")+str("not an array")),
		"hello two args":    call("hello", str("a")+str("b")),
		"fetch one arg":     call("fetch", str("a")),
		"list with args":    call("list", str("a")),
		"not xml":           "this is not xml",
		"empty":             "",
		"truncated":         call("query", str("a"))[:60],
		"raw control char":  call("query", str("a\x01b")),
		"raw nul":           call("query", str("a\x00b")),
		"bad utf8":          call("query", str("caf\xe9")),
		"bad entity":        call("query", str("&nbsp;")),
		"bad char ref":      call("query", str("&#0;")),
		"doctype":           "<!DOCTYPE x [<!ENTITY a 'b'>]>" + call("query", str("a")),
		"too deep":          call("query", str("a")+"<param>"+deep+"</param>"),
		"too large":         call("query", str(strings.Repeat("x", 100<<10))),
		"mismatched":        "<methodCall><methodName>query</methodName><params><param><value><string>a</value></string></param></params></methodCall>",
		"trailing garbage":  call("query", str("a")) + "<x/>",
		"unknown type":      call("query", "<param><value><blob>a</blob></value></param>"),
	}
	for name, body := range faults {
		t.Run(name, func(t *testing.T) {
			_, f := post(t, url, body)
			require.NotNil(t, f, "want a fault")
			require.Equal(t, transport.CodeError, f.Code)
			require.NotEmpty(t, f.String)
		})
	}

	// What Python sends: typed values, whitespace between elements; and
	// what other clients send: untyped values, comments, no declaration.
	ok := map[string]string{
		"python":   call("query", str("a")+"<param>\n<value><array><data>\n<value><string>http://x:1</string></value>\n</data></array></value>\n</param>\n"),
		"untyped":  "<methodCall><methodName>query</methodName><params><param><value>a</value></param></params></methodCall>",
		"comments": "<!-- hi --><methodCall><!-- there --><methodName>query</methodName><params><param><value><string>a</string></value></param></params></methodCall>\n",
		"entities": call("query", str("&#97;")),
		"bom":      "\xEF\xBB\xBF" + call("query", str("a")),
	}
	for name, body := range ok {
		t.Run(name, func(t *testing.T) {
			s, f := post(t, url, body)
			require.Nil(t, f)
			require.Equal(t, "A&B", s)
		})
	}

	// hello and fetch answer int 0, never <nil/>.
	s, f := post(t, url, call("hello", str("http://q:1")))
	require.Nil(t, f)
	require.Equal(t, "0", s)

	// Not a POST, or not an XML-RPC path: HTTP errors, as Python's.
	resp, err := http.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	resp, err = http.Post(url+"/elsewhere", "text/xml", strings.NewReader(call("list", "")))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// TestXMLRPCKoloCrossCheck checks the codec against kolo/xmlrpc: we decode
// its requests, and it decodes our replies.
func TestXMLRPCKoloCrossCheck(t *testing.T) {
	text := "héllo <&> \"quoted\"\n"
	p := &fakePeer{files: map[string][]byte{"t.txt": []byte(text), "b.bin": {0, 1, 2, 255}}}
	_, url := serve(t, p, Config{})
	// kolo's Client.Call would wrap a []any into one array parameter and
	// report our fault as a type mismatch, so drive its codec directly.
	kpost := func(method string, args ...any) xmlrpc.Response {
		req, err := xmlrpc.EncodeMethodCall(method, args...)
		require.NoError(t, err)
		resp, err := http.Post(url, "text/xml", bytes.NewReader(req))
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		r := xmlrpc.Response(raw)
		require.NoError(t, r.Err())
		return r
	}
	var s string
	require.NoError(t, kpost("query", "t.txt", []string{"http://a:1"}).Unmarshal(&s))
	require.Equal(t, text, s)
	// kolo hands <base64> back undecoded.
	require.NoError(t, kpost("query", "b.bin").Unmarshal(&s))
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 1, 2, 255}, b)
	var names []string
	require.NoError(t, kpost("list").Unmarshal(&names))
	require.Equal(t, []string{"a.txt", "b<&>.bin"}, names)
	var zero int
	require.NoError(t, kpost("hello", "http://k:1").Unmarshal(&zero))
	require.Equal(t, 0, zero)

	// And our requests are what kolo would send.
	body, err := encodeCall("query", "t.txt", []string{"http://a:1"})
	require.NoError(t, err)
	kb, err := xmlrpc.EncodeMethodCall("query", "t.txt", []string{"http://a:1"})
	require.NoError(t, err)
	for _, doc := range [][]byte{body, kb} {
		d := newXMLDecoder(bufioReader(doc), 1<<20)
		method, params, err := d.request()
		require.NoError(t, err)
		require.Equal(t, "query", method)
		require.Equal(t, []any{"t.txt", []any{"http://a:1"}}, params)
	}
}

// rawServer serves a fixed handler on loopback.
func rawServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

func TestXMLRPCGzipReply(t *testing.T) {
	// As Python's server does for replies over 1400 bytes, with its
	// layout: raw CR (which XML reads as LF) and base64 in lines of 76.
	text := strings.Repeat("gzip me <please> & thanks\n", 200)
	url := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "gzip", r.Header.Get("Accept-Encoding"))
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		defer zw.Close()
		esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text)
		fmt.Fprintf(zw, "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><string>%s\r\nx\ry</string></value>\n</param>\n</params>\n</methodResponse>\n", esc)
	})
	tr := New(Config{})
	defer tr.Close()
	body, err := dial(t, tr, url).Query(context.Background(), "x", nil)
	require.NoError(t, err)
	got, err := io.ReadAll(body)
	require.NoError(t, err)
	body.Close()
	require.Equal(t, text+"\nx\ny", string(got))

	b64 := "AAEC\n/w==\n"
	url = rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><base64>\n%s</base64></value>\n</param>\n</params>\n</methodResponse>\n", b64)
	})
	body, err = dial(t, tr, url).Query(context.Background(), "x", nil)
	require.NoError(t, err)
	got, err = io.ReadAll(body)
	require.NoError(t, err)
	body.Close()
	require.Equal(t, []byte{0, 1, 2, 255}, got)
	require.False(t, body.(transport.Texter).IsText())
}

func TestXMLRPCReplyCap(t *testing.T) {
	p := &fakePeer{files: map[string][]byte{"big": bytes.Repeat([]byte("x"), 1<<20)}}
	_, url := serve(t, p, Config{})
	tr := New(Config{MaxReplyBytes: 64 << 10})
	defer tr.Close()
	_, err := dial(t, tr, url).Query(context.Background(), "big", nil)
	require.ErrorContains(t, err, "exceeds")

	// Without a Content-Length the cap cuts in as the reply streams, also
	// through gzip.
	for _, zip := range []bool{false, true} {
		url = rawServer(t, func(w http.ResponseWriter, r *http.Request) {
			var out io.Writer = w
			if zip {
				w.Header().Set("Content-Encoding", "gzip")
				zw := gzip.NewWriter(w)
				defer zw.Close()
				out = zw
			}
			io.WriteString(out, replyHead+"<string>")
			for range 100 {
				out.Write(bytes.Repeat([]byte("y"), 4096))
			}
			io.WriteString(out, "</string>"+replyTail)
		})
		body, err := dial(t, tr, url).Query(context.Background(), "x", nil)
		if err == nil {
			_, err = io.ReadAll(body)
			body.Close()
		}
		require.ErrorContains(t, err, "exceeds")
	}
}

func TestXMLRPCMalformedReplies(t *testing.T) {
	replies := map[string]string{
		"not xml":       "hello",
		"raw control":   replyHead + "<string>a\x01b</string>" + replyTail,
		"truncated":     replyHead + "<string>abc",
		"wrong type":    replyHead + "<int>1</int>" + replyTail,
		"bad base64":    replyHead + "<base64>!!!!</base64>" + replyTail,
		"fault no code": "<methodResponse><fault><value><struct></struct></value></fault></methodResponse>",
		"garbage after": replyHead + "<string>a</string>" + replyTail + "<x>",
	}
	tr := New(Config{})
	defer tr.Close()
	for name, reply := range replies {
		t.Run(name, func(t *testing.T) {
			url := rawServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, reply) })
			body, err := dial(t, tr, url).Query(context.Background(), "x", nil)
			if err == nil {
				_, err = io.ReadAll(body)
				body.Close()
			}
			require.Error(t, err)
			var f *transport.Fault
			require.False(t, errors.As(err, &f), "a broken reply is not a fault")
		})
	}
}

func TestXMLRPCNoRedirects(t *testing.T) {
	var hit atomic.Bool
	target := rawServer(t, func(w http.ResponseWriter, r *http.Request) { hit.Store(true) })
	url := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	})
	tr := New(Config{})
	defer tr.Close()
	err := dial(t, tr, url).Hello(context.Background(), "http://a:1")
	require.ErrorContains(t, err, "307")
	require.False(t, hit.Load())
}

// contextPeer is a fakePeer that gives Listen a base context.
type contextPeer struct {
	*fakePeer
	ctx context.Context
}

func (p contextPeer) Context() context.Context { return p.ctx }

type baseKey struct{}

// A Contexter's calls are served under its context: they carry its values
// and end when it ends, while the listener still serves.
func TestXMLRPCListenContexter(t *testing.T) {
	base, cancel := context.WithCancel(context.WithValue(context.Background(), baseKey{}, "base"))
	defer cancel()
	seen := make(chan any, 1)
	p := contextPeer{ctx: base, fakePeer: &fakePeer{query: func(ctx context.Context, _ string, _ []string) (io.ReadCloser, error) {
		seen <- ctx.Value(baseKey{})
		<-ctx.Done()
		return nil, ctx.Err()
	}}}
	tr, url := serve(t, p, Config{})
	c := dial(t, tr, url)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Query(context.Background(), "x", nil)
		errc <- err
	}()
	require.Equal(t, "base", <-seen)
	cancel()
	select {
	case err := <-errc:
		// The handler returned the context's error, which goes out as
		// a fault.
		require.ErrorContains(t, err, "context canceled")
	case <-time.After(10 * time.Second):
		t.Fatal("the call went on after its base context ended")
	}
}

func TestXMLRPCTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	p := &fakePeer{query: func(ctx context.Context, _ string, _ []string) (io.ReadCloser, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-release:
			return nil, errors.New("released")
		}
	}}
	_, url := serve(t, p, Config{})

	tr := New(Config{CallTimeout: 100 * time.Millisecond})
	defer tr.Close()
	start := time.Now()
	_, err := dial(t, tr, url).Query(context.Background(), "x", nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)

	tr2 := New(Config{})
	defer tr2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = dial(t, tr2, url).Query(ctx, "x", nil)
	require.ErrorIs(t, err, context.Canceled)

	// A reply that stalls mid-stream ends with the context too.
	stall := make(chan struct{})
	defer close(stall)
	slow := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, replyHead+"<string>partial")
		w.(http.Flusher).Flush()
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	})
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	body, err := dial(t, tr2, slow).Query(ctx, "x", nil)
	require.NoError(t, err)
	_, err = io.ReadAll(body)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	body.Close()
}

func TestXMLRPCConnectionReuse(t *testing.T) {
	p := &fakePeer{files: map[string][]byte{"a": []byte("A"), "b": bytes.Repeat([]byte{0}, 100000)}}
	var conns atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{
		Handler: NewHandler(p),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	go srv.Serve(ln)
	defer srv.Close()
	tr := New(Config{})
	defer tr.Close()
	c := dial(t, tr, "http://"+ln.Addr().String())
	for i := range 20 {
		name := []string{"a", "b"}[i%2]
		body, err := c.Query(context.Background(), name, nil)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, body)
		require.NoError(t, err)
		body.Close()
		_, err = c.Query(context.Background(), "missing", nil)
		require.Error(t, err)
		require.NoError(t, c.Hello(context.Background(), "http://x:1"))
	}
	require.Equal(t, int32(1), conns.Load())
}

func TestXMLRPCListenAndDial(t *testing.T) {
	tr := New(Config{})
	defer tr.Close()
	for _, u := range []string{"mem://a", "ftp://x:1", "127.0.0.1:80", "http://", "::"} {
		_, err := tr.Dial(u)
		require.Error(t, err, u)
	}
	_, err := tr.Listen("https://127.0.0.1:0", &fakePeer{})
	require.Error(t, err)
	_, err = tr.Listen("http://127.0.0.1:0", nil)
	require.Error(t, err)

	// A node can be restarted on its port at once, even with connections
	// of the old server in TIME_WAIT.
	p := &fakePeer{files: map[string][]byte{"a": []byte("A")}}
	l, err := tr.Listen("http://127.0.0.1:0", p)
	require.NoError(t, err)
	url := l.(interface{ URL() string }).URL()
	require.NotContains(t, url, ":0")
	require.NoError(t, dial(t, tr, url).Hello(context.Background(), "http://x:1"))
	require.NoError(t, l.Close())
	require.NoError(t, l.Close())
	tr.Close() // drop the idle connection, as a client going away would
	tr = New(Config{})
	defer tr.Close()
	l, err = tr.Listen(url, p)
	require.NoError(t, err)
	require.Equal(t, url, l.(interface{ URL() string }).URL())
	require.NoError(t, dial(t, tr, url).Hello(context.Background(), "http://x:1"))
	require.NoError(t, l.Close())

	// After Close the transport refuses work.
	tr.Close()
	_, err = tr.Dial(url)
	require.ErrorIs(t, err, ErrClosed)
}

// TestXMLRPCNoLeaks checks that closing the listener and the transport
// ends every goroutine they started, even with a call in flight.
func TestXMLRPCNoLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	started := make(chan struct{})
	p := &fakePeer{files: map[string][]byte{"a": []byte("A")}}
	p.query = func(ctx context.Context, name string, _ []string) (io.ReadCloser, error) {
		if name == "block" {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return io.NopCloser(strings.NewReader("A")), nil
	}
	tr := New(Config{})
	l, err := tr.Listen("http://127.0.0.1:0", p)
	require.NoError(t, err)
	c := dial(t, tr, l.(interface{ URL() string }).URL())
	for range 3 {
		body, err := c.Query(context.Background(), "a", nil)
		require.NoError(t, err)
		io.Copy(io.Discard, body)
		body.Close()
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Query(context.Background(), "block", nil)
		errc <- err
	}()
	<-started
	require.NoError(t, l.Close())
	require.Error(t, <-errc)
	require.NoError(t, tr.Close())
}

// A keep-alive connection that the server resets when it is reused costs
// the call nothing: the call is sent again on a fresh connection.
func TestXMLRPCRetriesOnAResetKeepAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns sync.WaitGroup
	defer conns.Wait()
	defer ln.Close()
	const reply = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><int>0</int></value>\n</param>\n</params>\n</methodResponse>\n"
	var first atomic.Bool
	first.Store(true)
	conns.Add(1)
	go func() {
		defer conns.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			resetOnSecond := first.Swap(false)
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if resetOnSecond && i == 1 {
						c.(*net.TCPConn).SetLinger(0) // a reset, not a clean close
						return
					}
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", len(reply), reply)
				}
			}()
		}
	}()
	tr := New(Config{})
	defer tr.Close()
	p, err := tr.Dial("http://" + ln.Addr().String())
	require.NoError(t, err)
	require.NoError(t, p.Hello(context.Background(), "http://127.0.0.1:9"))
	require.NoError(t, p.Hello(context.Background(), "http://127.0.0.1:9"), "sent again on a fresh connection")
	require.False(t, first.Load())
}

// failingFile is a file whose every read fails.
type failingFile struct{}

var errDisk = errors.New("disk on fire")

func (failingFile) Read([]byte) (int, error)          { return 0, errDisk }
func (failingFile) Seek(int64, int) (int64, error)    { return 0, nil }
func (failingFile) ReadAt([]byte, int64) (int, error) { return 0, errDisk }
func (failingFile) Close() error                      { return nil }

// TestXMLRPCFirstReadFailsIsAFault checks that a body whose first read
// fails, before anything of the reply is sent, reaches the client as
// fault 1, whatever kind of body it is: not as an empty HTTP 200.
func TestXMLRPCFirstReadFailsIsAFault(t *testing.T) {
	bodies := map[string]func() io.ReadCloser{
		"seeker": func() io.ReadCloser { return failingFile{} },
		"stream": func() io.ReadCloser { return io.NopCloser(iotest.ErrReader(errDisk)) },
		"texter": func() io.ReadCloser { return texterBody{iotest.ErrReader(errDisk), true} },
		"binary": func() io.ReadCloser { return texterBody{iotest.ErrReader(errDisk), false} },
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			p := &fakePeer{query: func(context.Context, string, []string) (io.ReadCloser, error) { return body(), nil }}
			tr, url := serve(t, p, Config{})
			_, err := dial(t, tr, url).Query(context.Background(), "x", nil)
			var f *transport.Fault
			require.ErrorAs(t, err, &f)
			require.Equal(t, transport.CodeError, f.Code)
			require.Contains(t, f.Message, "disk on fire")

			// The connection stays good for the next call.
			require.NoError(t, dial(t, tr, url).Hello(context.Background(), "http://a"))
		})
	}
}

// writeRecorder is a ResponseWriter that records the length of each
// write.
type writeRecorder struct {
	*httptest.ResponseRecorder
	writes []int
}

func (r *writeRecorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, len(p))
	return r.ResponseRecorder.Write(p)
}

// TestXMLRPCPlainFileGoesAsItIs checks that a file of text with nothing
// to escape is copied out as it is, in writes of replyPiece of the file
// (the first with the reply's head, the last with its tail), and arrives
// whole, over loopback too; and that a file that needs escaping does not
// go so.
func TestXMLRPCPlainFileGoesAsItIs(t *testing.T) {
	dir := t.TempDir()
	plain := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 3<<20/44)
	marked := append(bytes.Clone(plain), "&"...)
	for name, b := range map[string][]byte{"plain": plain, "marked": marked} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	for name, want := range map[string][]byte{"plain": plain, "marked": marked} {
		rec := &writeRecorder{ResponseRecorder: httptest.NewRecorder()}
		h := newHandler(&fakePeer{query: func(context.Context, string, []string) (io.ReadCloser, error) {
			return open(name), nil
		}}, DefaultMaxRequestBytes, time.Minute, DefaultReplyCacheBytes)
		call, err := encodeCall("query", name, []string{})
		require.NoError(t, err)
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/RPC2", bytes.NewReader(call)))
		head, tail := len(replyHead+"<string>"), len("</string>"+replyTail)
		pieces := []int{head + replyPiece}
		for left := len(want) - replyPiece; left > 0; left -= replyPiece {
			pieces = append(pieces, min(left, replyPiece))
		}
		pieces[len(pieces)-1] += tail
		if name == "plain" {
			require.Equal(t, pieces, rec.writes)
		} else {
			require.NotEqual(t, pieces, rec.writes)
		}
		require.Equal(t, strconv.Itoa(rec.Body.Len()), rec.Header().Get("Content-Length"))
		text, got, err := readReply(rec.Body.Bytes(), false, 64<<10, 32<<10)
		require.NoError(t, err)
		require.True(t, text)
		require.True(t, bytes.Equal(want, got), name)
	}

	p := &fakePeer{query: func(_ context.Context, name string, _ []string) (io.ReadCloser, error) { return open(name), nil }}
	tr, url := serve(t, p, Config{})
	body, err := dial(t, tr, url).Query(context.Background(), "plain", nil)
	require.NoError(t, err)
	got, err := io.ReadAll(body)
	require.NoError(t, err)
	body.Close()
	require.True(t, bytes.Equal(plain, got))
}

// TestXMLRPCPlainFileEdges checks sendPlainFile at its edges: an empty
// file is an empty string, a file of exactly one piece and one of a piece
// and a byte arrive whole, and a file shorter than the size its scan
// found is an error, not a reply that claims more than it sends.
func TestXMLRPCPlainFileEdges(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, replyPiece, replyPiece + 1} {
		path := filepath.Join(dir, strconv.Itoa(size))
		want := bytes.Repeat([]byte("x"), size)
		require.NoError(t, os.WriteFile(path, want, 0o644))
		f, err := os.Open(path)
		require.NoError(t, err)
		rec := httptest.NewRecorder()
		require.NoError(t, sendPlainFile(rec, f, int64(size)))
		require.NoError(t, f.Close())
		require.Equal(t, strconv.Itoa(rec.Body.Len()), rec.Header().Get("Content-Length"))
		text, got, err := readReply(rec.Body.Bytes(), false, 64<<10, 32<<10)
		require.NoError(t, err)
		require.True(t, text)
		require.True(t, bytes.Equal(want, got), size)

		f, err = os.Open(path)
		require.NoError(t, err)
		err = sendPlainFile(httptest.NewRecorder(), f, int64(size)+replyPiece)
		require.ErrorContains(t, err, "shrank", size)
		require.NoError(t, f.Close())
	}
}
