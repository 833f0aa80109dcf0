package peer_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// bookFault is the book's Python server's answer to a method it does not
// have.
const bookFault = "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n" +
	"<member>\n<name>faultCode</name>\n<value><int>1</int></value>\n</member>\n" +
	"<member>\n<name>faultString</name>\n<value><string>method is not supported</string></value>\n</member>\n" +
	"</struct></value>\n</fault>\n</methodResponse>\n"

const (
	replyHead = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><string>"
	replyTail = "</string></value>\n</param>\n</params>\n</methodResponse>\n"
)

// hostilePeer serves every query with reply(w), on loopback. It answers
// the extension's methods with a book node's fault, so that a fetch's
// search passes it over and the fetch comes to its query.
func hostilePeer(t *testing.T, reply func(w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		w.Header().Set("Content-Type", "text/xml")
		if bytes.Contains(req, []byte("<methodName>filepeer.")) {
			io.WriteString(w, bookFault)
			return
		}
		reply(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// flood writes up to limit bytes of 'A' to w, stopping when the client
// goes; a client that read it all gets no document end, so only a cut
// short fetch could succeed.
func flood(w io.Writer, r *http.Request, limit int) {
	chunk := []byte(strings.Repeat("A", 64<<10))
	for sent := 0; sent < limit && r.Context().Err() == nil; sent += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// fetchFrom starts a node over XML-RPC that knows only peerURL, and
// returns it.
func fetchFrom(t *testing.T, peerURL string, mods ...func(*peer.Config)) *testNode {
	t.Helper()
	xr := xmlrpc.New(xmlrpc.Config{})
	t.Cleanup(func() { xr.Close() })
	n := startNode(t, xr, "http://"+testenv.FreeAddr(t), mods...)
	require.NoError(t, n.Hello(context.Background(), peerURL))
	return n
}

// TestFetchGzipBombBounded checks the row of a 10 MB gzip that
// inflates to 10 GiB: the fetch stops at Config.MaxFetchBytes, counted
// after gzip, and leaves nothing in Dir. Before, it wrote until the disk
// was full.
func TestFetchGzipBombBounded(t *testing.T) {
	url := hostilePeer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
		io.WriteString(zw, replyHead)
		flood(zw, r, 256<<20)
		zw.Close()
	})
	n := fetchFrom(t, url, func(c *peer.Config) { c.MaxFetchBytes = 4 << 20 })
	err := n.Fetch(context.Background(), "bomb.txt", n.secret)
	require.ErrorIs(t, err, peer.ErrFetchTooLarge)
	require.Empty(t, n.files(t))
}

// TestFetchEndlessReplyBounded checks the row of an endless
// reply: the fetch stops at the cap.
func TestFetchEndlessReplyBounded(t *testing.T) {
	url := hostilePeer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, replyHead)
		flood(w, r, 256<<20)
	})
	n := fetchFrom(t, url, func(c *peer.Config) { c.MaxFetchBytes = 4 << 20 })
	err := n.Fetch(context.Background(), "endless.txt", n.secret)
	require.ErrorIs(t, err, peer.ErrFetchTooLarge)
	require.Empty(t, n.files(t))
}

// TestFetchThroughARelayBounded checks the endless reply and the gzip
// bomb one hop away: the Go node between passes the reply through
// without decoding it, and the fetch still stops at its own cap, leaving
// nothing in Dir.
func TestFetchThroughARelayBounded(t *testing.T) {
	for name, reply := range map[string]func(w http.ResponseWriter, r *http.Request){
		"endless": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, replyHead)
			flood(w, r, 256<<20)
		},
		"gzip bomb": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
			io.WriteString(zw, replyHead)
			flood(zw, r, 256<<20)
			zw.Close()
		},
	} {
		t.Run(name, func(t *testing.T) {
			relay := fetchFrom(t, hostilePeer(t, reply))
			n := fetchFrom(t, relay.URL(), func(c *peer.Config) { c.MaxFetchBytes = 4 << 20 })
			err := n.Fetch(context.Background(), "far.txt", n.secret)
			require.ErrorIs(t, err, peer.ErrFetchTooLarge)
			require.Empty(t, n.files(t))
			require.Empty(t, relay.files(t))
		})
	}
}

// TestFetchDripEnds checks the row of a peer sending a byte at a
// time, never silent long enough for the stall timeout: the fetch ends
// once a window brings less than the rate floor. The peer gives up after
// ten seconds (and then sends a whole document), so that a node without
// the floor fetches the file and fails the test rather than hanging.
func TestFetchDripEnds(t *testing.T) {
	url := hostilePeer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, replyHead)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			io.WriteString(w, "d")
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, replyTail)
	})
	n := fetchFrom(t, url, func(c *peer.Config) {
		c.MinFetchRate = 64 << 10
		c.FetchRateWindow = 200 * time.Millisecond
	})
	err := n.Fetch(context.Background(), "drip.txt", n.secret)
	require.ErrorIs(t, err, peer.ErrFetchTooSlow)
	require.Empty(t, n.files(t))
}

// TestFetchKeepsDiskReserve checks that a fetch that would eat into the
// reserve of free space fails and leaves nothing behind: here the reserve
// is more than any disk has.
func TestFetchKeepsDiskReserve(t *testing.T) {
	mem := transport.NewMemory()
	holder := startNode(t, mem, "mem://holder")
	holder.put(t, "a.txt", "some bytes")
	n := startNode(t, mem, "mem://n", func(c *peer.Config) { c.DiskReserve = 1 << 62 })
	require.NoError(t, n.Hello(context.Background(), holder.URL()))
	err := n.Fetch(context.Background(), "a.txt", n.secret)
	require.ErrorIs(t, err, peer.ErrDiskReserve)
	require.Empty(t, n.files(t))

	// With the default reserve the same fetch succeeds.
	m := startNode(t, mem, "mem://m")
	require.NoError(t, m.Hello(context.Background(), holder.URL()))
	require.NoError(t, m.Fetch(context.Background(), "a.txt", m.secret))
}

// TestHugeFaultStringBounded checks the row of a peer replying
// with a 60 MB faultString: the node's error and every log line carry a
// few KiB of it at most.
func TestHugeFaultStringBounded(t *testing.T) {
	big := hostilePeer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<?xml version='1.0'?><methodResponse><fault><value><struct>"+
			"<member><name>faultCode</name><value><int>1</int></value></member>"+
			"<member><name>faultString</name><value><string>")
		flood(w, r, 60<<20)
		io.WriteString(w, "</string></value></member></struct></value></fault></methodResponse>")
	})
	long := hostilePeer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<?xml version='1.0'?><methodResponse><fault><value><struct>"+
			"<member><name>faultCode</name><value><int>100</int></value></member>"+
			"<member><name>faultString</name><value><string>")
		flood(w, r, 48<<10)
		io.WriteString(w, "</string></value></member></struct></value></fault></methodResponse>")
	})
	var logs bytes.Buffer
	n := fetchFrom(t, big, func(c *peer.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	require.NoError(t, n.Hello(context.Background(), long))
	_, err := n.Query(context.Background(), "x", nil)
	require.ErrorIs(t, err, peer.ErrUnhandled)
	lines := strings.Split(logs.String(), "\n")
	require.Greater(t, len(lines), 1)
	for _, l := range lines {
		require.Less(t, len(l), 8<<10, "a log line of %d bytes", len(l))
	}
}
