package xmlrpc

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// listenHandler serves h with Listen's server on loopback, under cfg,
// and returns the address.
func listenHandler(t *testing.T, h http.HandlerFunc, cfg Config) string {
	t.Helper()
	cfg = New(cfg).cfg // the defaults
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := newServer(h, context.Background(), &cfg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve(ln)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.shutdown(ctx)
	})
	return ln.Addr().String()
}

// rawExchange writes req on a new connection and reads the replies that
// follow until the server closes it, returning them all.
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(c, req)
	require.NoError(t, err)
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	return string(b)
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/plain")
	if r.URL.Query().Get("length") != "" {
		w.Header().Set("Content-Length", r.URL.Query().Get("length"))
	}
	w.Write(b)
}

// TestServerKeepsAliveAndPipelines checks that one connection carries
// several requests, even sent in one write and chunked, answered in
// order, and that Connection: close ends it.
func TestServerKeepsAliveAndPipelines(t *testing.T) {
	addr := listenHandler(t, echoHandler, Config{})
	req := func(body, extra string) string {
		return "POST /RPC2?length=" + strconv.Itoa(len(body)) + " HTTP/1.1\r\nHost: x\r\n" + extra + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	// The second is chunked, with a trailer, which must be read to its
	// end for the third to be found.
	chunked := "POST /RPC2?length=3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\ntw\r\n1;ext=y\r\no\r\n0\r\nX-Sum: 3\r\n\r\n"
	out := rawExchange(t, addr, req("one", "")+chunked+req("three", "Connection: close\r\n"))
	br := bufio.NewReader(strings.NewReader(out))
	for _, want := range []string{"one", "two", "three"} {
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, want, string(b))
		require.Equal(t, want == "three", resp.Close)
	}
	_, err := br.ReadByte()
	require.ErrorIs(t, err, io.EOF)
}

// TestServerBodyWithoutLength checks a reply of no Content-Length: chunked
// to an HTTP/1.1 client, and ended by closing to an HTTP/1.0 one.
func TestServerBodyWithoutLength(t *testing.T) {
	addr := listenHandler(t, echoHandler, Config{})
	body := strings.Repeat("0123456789", 1000)
	out := rawExchange(t, addr, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "+strconv.Itoa(0)+"\r\n\r\n")
	require.Contains(t, out, "Content-Length: 0\r\n", "an empty reply says so")
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	br := bufio.NewReader(c)
	req, _ := http.NewRequest("POST", "http://"+addr+"/RPC2", strings.NewReader(body))
	req.ContentLength = int64(len(body))
	require.NoError(t, req.Write(c))
	resp, err := http.ReadResponse(br, req)
	require.NoError(t, err)
	require.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, body, string(b))

	out = rawExchange(t, addr, "POST /RPC2 HTTP/1.0\r\nContent-Length: 4\r\n\r\nabcd")
	require.True(t, strings.HasPrefix(out, "HTTP/1.0 200 OK\r\n"), out)
	require.True(t, strings.HasSuffix(out, "\r\n\r\nabcd"), out)
	require.NotContains(t, out, "chunked")
}

// TestServerRefusesBadRequests checks the answers to requests that cannot
// be served, each of which closes the connection.
func TestServerRefusesBadRequests(t *testing.T) {
	var served atomic.Int32
	addr := listenHandler(t, func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		echoHandler(w, r)
	}, Config{})
	for _, c := range []struct {
		name, req, status string
	}{
		{"garbage", "\x00\x01\x02 nonsense\r\n\r\n", "400 Bad Request"},
		{"no Host", "POST /RPC2 HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "400 Bad Request"},
		{"two Hosts", "POST /RPC2 HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n", "400 Bad Request"},
		{"two lengths", "POST /RPC2 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "400 Bad Request"},
		{"HTTP/2", "POST /RPC2 HTTP/2.0\r\nHost: a\r\n\r\n", "505 HTTP Version Not Supported"},
		{"odd Expect", "POST /RPC2 HTTP/1.1\r\nHost: a\r\nExpect: wonders\r\nContent-Length: 0\r\n\r\n", "417 Expectation Failed"},
		{"head too large", "POST /RPC2 HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("a", maxRequestHead) + "\r\n\r\n", "431 Request Header Fields Too Large"},
		{"too many fields", "POST /RPC2 HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: v\r\n", maxFields+1) + "\r\n", "431 Request Header Fields Too Large"},
		{"folded field", "POST /RPC2 HTTP/1.1\r\nHost: a\r\nX: v\r\n w\r\nContent-Length: 0\r\n\r\n", "400 Bad Request"},
		{"chunked beside a length", "POST /RPC2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", "400 Bad Request"},
		{"gzip transfer coding", "POST /RPC2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "501 Not Implemented"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := rawExchange(t, addr, c.req)
			require.True(t, strings.HasPrefix(out, "HTTP/1.1 "+c.status+"\r\n"), "%q", out)
		})
	}
	require.Zero(t, served.Load())
}

// TestServerSendsContinue checks that a client that waits to be asked for
// its body is asked, and served.
func TestServerSendsContinue(t *testing.T) {
	addr := listenHandler(t, echoHandler, Config{})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "POST /RPC2?length=2 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1 100 Continue\r\n", line)
	br.ReadString('\n')
	io.WriteString(c, "ok")
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, "ok", string(b))
}

// TestServerSeesTheClientGo checks that a call whose client goes, with
// the call's request read, has its context ended, and that a call that
// ends meanwhile leaves the connection for the next request.
func TestServerSeesTheClientGo(t *testing.T) {
	ended := make(chan struct{})
	addr := listenHandler(t, func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		if r.URL.Path == "/wait" {
			<-r.Context().Done()
			close(ended)
			return
		}
		time.Sleep(3 * watchAfter) // long enough to be watched
		w.Header().Set("Content-Length", "2")
		io.WriteString(w, "ok")
	}, Config{})
	// A slow call, watched, and then one more on the same connection.
	out := rawExchange(t, addr, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nPOST /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
	require.Equal(t, 2, strings.Count(out, "HTTP/1.1 200 OK\r\n"), out)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	io.WriteString(c, "POST /wait HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	time.Sleep(2 * watchAfter)
	c.Close()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the call outlived its client")
	}
}

// TestServerSurvivesAPanic checks that a handler's panic costs its
// connection only, and is logged.
func TestServerSurvivesAPanic(t *testing.T) {
	var logged lockedBuffer
	addr := listenHandler(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("handler on fire")
		}
		echoHandler(w, r)
	}, Config{ErrorLog: log.New(&logged, "", 0)})
	out := rawExchange(t, addr, "POST /panic HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	require.Empty(t, out)
	require.Contains(t, logged.String(), "handler on fire")
	out = rawExchange(t, addr, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
	require.True(t, strings.HasSuffix(out, "\r\n\r\nok"), out)
}

// TestServerIdleTimeout checks that a connection idle between requests
// for IdleTimeout is closed.
func TestServerIdleTimeout(t *testing.T) {
	addr := listenHandler(t, echoHandler, Config{IdleTimeout: 50 * time.Millisecond})
	// rawExchange fails if the server has not closed the connection
	// within its 10 s deadline.
	out := rawExchange(t, addr, "POST /RPC2?length=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
	require.True(t, strings.HasSuffix(out, "\r\n\r\nok"), out)
}

// lockedBuffer is a bytes.Buffer safe for a logger's goroutine and the
// test's.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServerCloseEndsIdleConnsAtOnce checks that Close closes a
// connection that has sent nothing yet, and one idle between requests,
// without waiting out the grace it gives calls in progress.
func TestServerCloseEndsIdleConnsAtOnce(t *testing.T) {
	tr := New(Config{})
	defer tr.Close()
	l, err := tr.Listen("http://127.0.0.1:0", &fakePeer{})
	require.NoError(t, err)
	addr := l.(*Listener).Addr().String()
	fresh, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer fresh.Close()
	used, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer used.Close()
	io.WriteString(used, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(used), nil)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	start := time.Now()
	require.NoError(t, l.Close())
	require.Less(t, time.Since(start), shutdownGrace, "Close waited for idle connections")
	for _, c := range []net.Conn{fresh, used} {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := c.Read(make([]byte, 1))
		require.ErrorIs(t, err, io.EOF)
	}
}

// TestServerEndlessBodyClosedByHandler checks that a handler that closes
// a request body which keeps coming is answered, and the connection then
// closed once the server has read its bound of what is left, rather than
// the body being read for as long as the client sends.
func TestServerEndlessBodyClosedByHandler(t *testing.T) {
	addr := listenHandler(t, func(w http.ResponseWriter, r *http.Request) {
		r.Body.Close()
		w.Header().Set("Content-Length", "2")
		io.WriteString(w, "ok")
	}, Config{})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	sent := make(chan int64, 1)
	go func() {
		chunk := "4000\r\n" + strings.Repeat("a", 0x4000) + "\r\n"
		var n int64
		for n < 64<<20 { // bounded: 64 MiB at most
			m, err := io.WriteString(c, chunk)
			n += int64(m)
			if err != nil {
				break
			}
		}
		sent <- n
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, "ok", string(b))
	require.Less(t, <-sent, int64(64<<20), "the server read the body on and on")
}
