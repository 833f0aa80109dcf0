package xmlrpc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// intReply is a reply of <int>0</int>.
const intReply = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><int>0</int></value>\n</param>\n</params>\n</methodResponse>\n"

// scriptedServer accepts connections on loopback and runs answer on each
// request, on the connection's goroutine, until answer returns false. It
// counts the connections accepted, and those the client closed.
func scriptedServer(t *testing.T, answer func(c net.Conn, req *http.Request) bool) (url string, accepted *atomic.Int32) {
	url, accepted, _ = scriptedServerGone(t, answer)
	return url, accepted
}

func scriptedServerGone(t *testing.T, answer func(c net.Conn, req *http.Request) bool) (url string, accepted, gone *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted, gone = new(atomic.Int32), new(atomic.Int32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						gone.Add(1)
						return
					}
					io.Copy(io.Discard, req.Body)
					if !answer(c, req) {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String(), accepted, gone
}

func writeIntReply(c net.Conn, proto string) {
	fmt.Fprintf(c, "%s 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", proto, len(intReply), intReply)
}

// TestConnPoolBoundsReplyHead checks that a reply whose head never ends
// fails, instead of growing without bound: at maxReplyHeader bytes, or at
// maxFields fields.
func TestConnPoolBoundsReplyHead(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string // written again and again after the status line
		want func(t *testing.T, err error)
	}{
		{"one endless field", strings.Repeat("a", 1000), func(t *testing.T, err error) { require.ErrorIs(t, err, errReplyHeader) }},
		{"endless fields", "X-Filler: " + strings.Repeat("a", 100) + "\r\n", func(t *testing.T, err error) { require.ErrorIs(t, err, errManyField) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := scriptedServer(t, func(c net.Conn, _ *http.Request) bool {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Long: ")
				for range 2 * maxReplyHeader / len(tc.line) {
					if _, err := io.WriteString(c, tc.line); err != nil {
						return false
					}
				}
				return false
			})
			tr := New(Config{})
			defer tr.Close()
			tc.want(t, dial(t, tr, url).Hello(context.Background(), "http://127.0.0.1:9"))
		})
	}
}

// TestConnPoolCapsConnsPerPeer checks that no more than maxConnsPerPeer
// connections are open to one peer at once, that the calls over the cap
// wait their turn rather than fail, and that a waiting call whose context
// ends gives its turn up.
func TestConnPoolCapsConnsPerPeer(t *testing.T) {
	release := make(chan struct{})
	var inCall, most atomic.Int32
	url, accepted := scriptedServer(t, func(c net.Conn, _ *http.Request) bool {
		n := inCall.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		inCall.Add(-1)
		writeIntReply(c, "HTTP/1.1")
		return true
	})
	tr := New(Config{})
	defer tr.Close()
	p := dial(t, tr, url)
	const calls = maxConnsPerPeer + 8
	errs := make(chan error, calls)
	for range calls {
		go func() { errs <- p.Hello(context.Background(), "http://127.0.0.1:9") }()
	}
	require.Eventually(t, func() bool { return inCall.Load() == maxConnsPerPeer }, 10*time.Second, time.Millisecond)
	// One more, given up while it waits.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, p.Hello(ctx, "http://127.0.0.1:9"), context.DeadlineExceeded)
	close(release)
	for range calls {
		require.NoError(t, <-errs)
	}
	require.Equal(t, int32(maxConnsPerPeer), most.Load())
	require.Equal(t, int32(maxConnsPerPeer), accepted.Load())
	// The connections are idle now, and serve the next calls.
	require.NoError(t, p.Hello(context.Background(), "http://127.0.0.1:9"))
	require.Equal(t, int32(maxConnsPerPeer), accepted.Load())
}

// TestConnPoolReusesOnlyWhatItMay checks which connections are used
// again: one whose reply was read to its end, but not one closed early,
// nor one whose peer speaks HTTP/1.0 or said Connection: close.
func TestConnPoolReusesOnlyWhatItMay(t *testing.T) {
	for _, c := range []struct {
		name, proto, extra string
		readAll            bool
		conns              int32
	}{
		{"read to its end", "HTTP/1.1", "", true, 1},
		{"closed early", "HTTP/1.1", "", false, 3},
		{"HTTP/1.0", "HTTP/1.0", "", true, 3},
		{"Connection: close", "HTTP/1.1", "Connection: close\r\n", true, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := replyHead + "<string>" + strings.Repeat("x", 100000) + "</string>" + replyTail
			url, accepted := scriptedServer(t, func(conn net.Conn, _ *http.Request) bool {
				fmt.Fprintf(conn, "%s 200 OK\r\nContent-Type: text/xml\r\n%sContent-Length: %d\r\n\r\n%s", c.proto, c.extra, len(body), body)
				return c.proto == "HTTP/1.1" && c.extra == ""
			})
			tr := New(Config{})
			defer tr.Close()
			p := dial(t, tr, url)
			for range 3 {
				b, err := p.Query(context.Background(), "x", nil)
				require.NoError(t, err)
				if c.readAll {
					got, err := io.ReadAll(b)
					require.NoError(t, err)
					require.Len(t, got, 100000)
				} else {
					_, err := io.ReadFull(b, make([]byte, 10))
					require.NoError(t, err)
				}
				b.Close()
			}
			require.Equal(t, c.conns, accepted.Load())
		})
	}
}

// TestConnPoolCancelCutsAStalledReply checks that a call's context ends a
// reply stalled in its headers and in its body, on the caller's goroutine,
// with the context's error.
func TestConnPoolCancelCutsAStalledReply(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	url, _ := scriptedServer(t, func(c net.Conn, req *http.Request) bool {
		if strings.Contains(req.URL.RawQuery, "body") {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n"+replyHead+"<string>x")
		}
		<-hold
		return false
	})
	tr := New(Config{CallTimeout: -1, StallTimeout: -1})
	defer tr.Close()
	for _, where := range []string{"head", "body"} {
		t.Run(where, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			b, err := dial(t, tr, url+"/RPC2?"+where).Query(ctx, "x", nil)
			if err == nil {
				_, err = io.ReadAll(b)
				b.Close()
			}
			require.ErrorIs(t, err, context.DeadlineExceeded)
		})
	}
}

// TestConnPoolCloseEndsIdleConns checks that the transport's Close closes
// its idle connections, and that calls after it fail.
func TestConnPoolCloseEndsIdleConns(t *testing.T) {
	url, _, gone := scriptedServerGone(t, func(c net.Conn, _ *http.Request) bool {
		writeIntReply(c, "HTTP/1.1")
		return true
	})
	tr := New(Config{})
	p := dial(t, tr, url)
	require.NoError(t, p.Hello(context.Background(), "http://127.0.0.1:9"))
	require.Zero(t, gone.Load())
	tr.Close()
	require.Eventually(t, func() bool { return gone.Load() == 1 }, 10*time.Second, time.Millisecond, "the idle connection outlived Close")
	require.Error(t, p.Hello(context.Background(), "http://127.0.0.1:9"))
}
