package xmlrpc

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientRequests are requests as the wire's clients send them: this
// transport's, the book's Python node's (xmlrpc.client), net/http's and
// curl's, and some of HTTP's other forms.
var clientRequests = []string{
	"POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1:4242\r\nUser-Agent: filepeer\r\nContent-Length: 5\r\nAccept-Encoding: gzip\r\nContent-Type: text/xml\r\n\r\nhello",
	"POST /RPC2 HTTP/1.1\r\nHost: localhost:4242\r\nAccept-Encoding: gzip\r\nContent-Type: text/xml\r\nUser-Agent: Python-xmlrpc/3.12\r\nContent-Length: 3\r\n\r\nabc",
	"POST / HTTP/1.1\r\nHost: [::1]:4242\r\nUser-Agent: Go-http-client/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: text/xml\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: example.org\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nContent-Length: 2\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nab",
	"POST /RPC2 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n",
	"POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\nx",
	"GET /RPC2?a=b HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	"GET http://h:1/RPC2 HTTP/1.1\r\nHost: other\r\n\r\n",
	"OPTIONS * HTTP/1.1\nHost: h\n\n",
	"POST /RPC2 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\nX-Empty:\r\nX-Tab:\tv \t\r\nx-lower: v\r\n\r\n",
	"POST /RPC2 HTTP/1.1\r\nHost: h\r\nX-Obs: caf\xe9\r\nContent-Length: 0\r\n\r\n",
}

// refusedRequests are heads the server refuses, with the status.
var refusedRequests = []struct {
	head   string
	status int
}{
	{"POST /RPC2 HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1\r\nHost : h\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1\r\nHost: a/b\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", http.StatusNotImplemented},
	{"POST /RPC2 HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1\r\nHost: h\r\nX\x01: v\r\n\r\n", http.StatusBadRequest},
	{"POST  /RPC2 HTTP/1.1\r\nHost: h\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1 \r\nHost: h\r\n\r\n", http.StatusBadRequest},
	{"POST /RP\x7fC2 HTTP/1.1\r\nHost: h\r\n\r\n", http.StatusBadRequest},
	{"POST RPC2 HTTP/1.1\r\nHost: h\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/2.0\r\nHost: h\r\n\r\n", http.StatusHTTPVersionNotSupported},
	{"POST /RPC2 HTTP/1.10\r\nHost: h\r\n\r\n", http.StatusBadRequest},
	{"PO(ST /RPC2 HTTP/1.1\r\nHost: h\r\n\r\n", http.StatusBadRequest},
	{"POST /RPC2 HTTP/1.1\r\n" + strings.Repeat("X: v\r\n", maxFields+1) + "\r\n", http.StatusRequestHeaderFieldsTooLarge},
	{"POST /RPC2 HTTP/1.1\r\nX: " + strings.Repeat("v", maxRequestHead) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
}

func TestReadRequestAcceptsClients(t *testing.T) {
	for _, head := range clientRequests {
		ours, err := readRequest(bufio.NewReaderSize(strings.NewReader(head), 64))
		require.NoError(t, err, "%q", head)
		sameRequest(t, []byte(head), ours)
	}
}

func TestReadRequestRefuses(t *testing.T) {
	for _, tc := range refusedRequests {
		_, err := readRequest(bufio.NewReader(strings.NewReader(tc.head)))
		var he *headError
		require.ErrorAs(t, err, &he, "%q", tc.head)
		assert.Equal(t, tc.status, he.status, "%q: %v", tc.head, err)
	}
}

// TestReadRequestBoundsTrailer checks that a chunked body's trailer, which
// is read and dropped, must end within what the reader buffers.
func TestReadRequestBoundsTrailer(t *testing.T) {
	head := "POST /RPC2 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n"
	for _, trailer := range []string{strings.Repeat("X: "+strings.Repeat("v", 100)+"\r\n", 50), "X: " + strings.Repeat("v", 5000) + "\r\n"} {
		req, err := readRequest(bufio.NewReaderSize(strings.NewReader(head+trailer+"\r\n"), 4096))
		require.NoError(t, err)
		_, err = io.ReadAll(req.Body)
		require.ErrorIs(t, err, errLongTrailer)
	}
	req, err := readRequest(bufio.NewReaderSize(strings.NewReader(head+"X: v\r\nY: w\r\n\r\n"), 4096))
	require.NoError(t, err)
	body, err := io.ReadAll(req.Body)
	require.NoError(t, err, "a trailer within the buffer")
	require.Equal(t, "x", string(body))
}

// sameRequest checks that ours, read from head, is the request net/http
// reads from it, body included.
func sameRequest(t *testing.T, head []byte, ours *http.Request) {
	t.Helper()
	theirs, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	require.NoError(t, err, "net/http refuses what readRequest accepts: %q", head)
	assert.Equal(t, theirs.Method, ours.Method)
	assert.Equal(t, theirs.URL.String(), ours.URL.String())
	assert.Equal(t, theirs.RequestURI, ours.RequestURI)
	assert.Equal(t, [2]int{theirs.ProtoMajor, theirs.ProtoMinor}, [2]int{ours.ProtoMajor, ours.ProtoMinor})
	assert.Equal(t, theirs.Host, ours.Host)
	assert.Equal(t, theirs.ContentLength, ours.ContentLength)
	assert.Equal(t, theirs.TransferEncoding, ours.TransferEncoding)
	assert.Equal(t, theirs.Close, ours.Close)
	sameFieldsAndBody(t, theirs.Header, ours.Header, theirs.Body, ours.Body)
}

// sameFieldsAndBody checks that the header fields net/http read are the
// ones the hand parser read, and that a body the hand parser read whole,
// net/http read whole and the same. (The hand parser may refuse more: a
// trailer's malformed field, say.)
func sameFieldsAndBody(t *testing.T, theirs, ours http.Header, theirBody, ourBody io.Reader) {
	t.Helper()
	assert.True(t, maps.EqualFunc(theirs, ours, func(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }),
		"headers: net/http %q, ours %q", theirs, ours)
	want, werr := io.ReadAll(theirBody)
	got, gerr := io.ReadAll(ourBody)
	if gerr == nil {
		assert.NoError(t, werr, "net/http fails a body the hand parser reads")
		assert.Equal(t, want, got)
	}
}

// FuzzRequestHead checks that a request head readRequest accepts is read
// by net/http's parser to the same request and body, and that readRequest
// never fails but with an error.
func FuzzRequestHead(f *testing.F) {
	for _, head := range clientRequests {
		f.Add([]byte(head))
	}
	for _, tc := range refusedRequests {
		f.Add([]byte(tc.head[:min(len(tc.head), 512)]))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		ours, err := readRequest(bufio.NewReaderSize(bytes.NewReader(head), 64))
		if err != nil {
			return
		}
		sameRequest(t, head, ours)
	})
}

// serverReplies are replies as the wire's servers send them: this
// transport's, the book's Python node's (http.server, HTTP/1.0) and
// net/http's.
var serverReplies = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/xml\r\n\r\nhello",
	"HTTP/1.0 200 OK\r\nServer: BaseHTTP/0.6 Python/3.12.3\r\nDate: Wed, 02 Dec 2026 05:00:00 GMT\r\nContent-type: text/xml\r\nContent-length: 3\r\n\r\nabc",
	"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\nuntil the end",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
	"HTTP/1.0 200\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 500 Internal Server Error\nContent-Length: 1\n\nx",
}

func TestReadResponseAcceptsServers(t *testing.T) {
	for _, head := range serverReplies {
		ours, err := readResponse(bufio.NewReaderSize(strings.NewReader(head), 64), nil)
		require.NoError(t, err, "%q", head)
		sameResponse(t, []byte(head), ours)
	}
}

func TestReadResponseRefuses(t *testing.T) {
	for _, head := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 600 OK\r\n\r\n",
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
		"HTTP/1.1 200 OK\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX\x00: v\r\n\r\n",
		strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 6) + "HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1",
	} {
		_, err := readResponse(bufio.NewReader(strings.NewReader(head)), nil)
		assert.Error(t, err, "%q", head)
	}
}

// sameResponse checks that ours, read from head, is the reply net/http
// reads from it (after its interim replies), body included.
func sameResponse(t *testing.T, head []byte, ours *http.Response) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(head))
	theirs, err := http.ReadResponse(br, nil)
	for err == nil && theirs.StatusCode >= 100 && theirs.StatusCode < 200 {
		theirs, err = http.ReadResponse(br, nil)
	}
	require.NoError(t, err, "net/http refuses what readResponse accepts: %q", head)
	assert.Equal(t, theirs.StatusCode, ours.StatusCode)
	assert.Equal(t, theirs.Status, ours.Status)
	assert.Equal(t, [2]int{theirs.ProtoMajor, theirs.ProtoMinor}, [2]int{ours.ProtoMajor, ours.ProtoMinor})
	assert.Equal(t, theirs.ContentLength, ours.ContentLength)
	assert.Equal(t, theirs.TransferEncoding, ours.TransferEncoding)
	assert.Equal(t, theirs.Close, ours.Close)
	sameFieldsAndBody(t, theirs.Header, ours.Header, theirs.Body, ours.Body)
}

// FuzzResponseHead checks that a reply head readResponse accepts is read
// by net/http's parser to the same reply and body.
func FuzzResponseHead(f *testing.F) {
	for _, head := range serverReplies {
		f.Add([]byte(head))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		ours, err := readResponse(bufio.NewReaderSize(bytes.NewReader(head), 64), nil)
		if err != nil {
			return
		}
		sameResponse(t, head, ours)
	})
}

// TestWriteRequest checks that what writeRequest writes is read back by
// net/http as the request it was, and that it refuses a field that would
// break the head.
func TestWriteRequest(t *testing.T) {
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:4242/RPC2?x=1", strings.NewReader("hello"))
	require.NoError(t, err)
	req.Header = http.Header{"User-Agent": {"filepeer"}, "Content-Type": {"text/xml"}, "Accept-Encoding": {"gzip"}}
	var b bytes.Buffer
	bw := bufio.NewWriter(&b)
	require.NoError(t, writeRequest(bw, req))
	require.NoError(t, bw.Flush())
	assert.Equal(t, "POST /RPC2?x=1 HTTP/1.1\r\nHost: 127.0.0.1:4242\r\nAccept-Encoding: gzip\r\nContent-Type: text/xml\r\nUser-Agent: filepeer\r\nContent-Length: 5\r\n\r\nhello", b.String())

	for _, bad := range []http.Header{{"X-Bad": {"a\r\nInjected: yes"}}, {"Bad Name": {"v"}}} {
		req.Header = bad
		req.Body = io.NopCloser(strings.NewReader("hello"))
		assert.Error(t, writeRequest(bufio.NewWriter(io.Discard), req), "%q", bad)
	}
	req.Header, req.Body = nil, io.NopCloser(strings.NewReader("hell"))
	assert.Error(t, writeRequest(bufio.NewWriter(io.Discard), req), "a body short of its length")
	req.ContentLength, req.Body = -1, io.NopCloser(strings.NewReader("hello"))
	assert.Error(t, writeRequest(bufio.NewWriter(io.Discard), req), "a body of unknown length")
}
