package peer_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// python3 returns the Python interpreter, skipping the test without one,
// except in CI, where .ci/run installs it and its absence is a failure.
func python3(t *testing.T) string {
	t.Helper()
	return testenv.Tool(t, "python3")
}

const pynode = "testdata/pynode.py"

// pyNode is a node of testdata/pynode.py.
type pyNode struct {
	url, dir, secret string
}

// startPyNode runs a Python node on a free loopback port (see
// testenv.StartPyNode).
func startPyNode(t *testing.T, py string) *pyNode {
	t.Helper()
	n := testenv.StartPyNode(t, py, pynode)
	return &pyNode{url: n.URL, dir: n.Dir, secret: n.Secret}
}

// pyResult is what Python's ServerProxy made of a reply.
type pyResult = testenv.PyResult

// pyCall calls method at url with Python's ServerProxy.
func pyCall(t *testing.T, py, url, method string, args ...any) pyResult {
	t.Helper()
	return testenv.PyCall(t, py, pynode, url, method, args...)
}

// interopTransport is an XML-RPC transport closed when the test ends,
// after the nodes on it.
func interopTransport(t *testing.T) transport.Transport {
	tr := xmlrpc.New(xmlrpc.Config{})
	t.Cleanup(func() { tr.Close() })
	return tr
}

func goNode(t *testing.T, tr transport.Transport) *testNode {
	return startNode(t, tr, "http://"+testenv.FreeAddr(t))
}

var (
	interopText   = []byte("Grüße, <world> & all 😀\r\nsecond line\ttab\r\n")
	interopBinary = []byte{0, 1, 2, 0xff, 0xfe, '\r', '\n', 0x80}
)

func TestInteropPythonClientAgainstGoNode(t *testing.T) {
	py := python3(t)
	g := goNode(t, interopTransport(t))
	putBytes(t, g, "text.txt", interopText)
	putBytes(t, g, "binary.bin", interopBinary)
	putBytes(t, g, "empty.txt", nil)

	r := pyCall(t, py, g.URL(), "query", "text.txt")
	require.Equal(t, "str", r.Type)
	require.Equal(t, interopText, r.Bytes(t))
	r = pyCall(t, py, g.URL(), "query", "text.txt", []string{"http://127.0.0.1:1"})
	require.Equal(t, "str", r.Type)
	require.Equal(t, interopText, r.Bytes(t))
	r = pyCall(t, py, g.URL(), "query", "binary.bin")
	require.Equal(t, "Binary", r.Type)
	require.Equal(t, interopBinary, r.Bytes(t))
	r = pyCall(t, py, g.URL(), "query", "empty.txt")
	require.Equal(t, "str", r.Type)
	require.Empty(t, r.Hex)

	r = pyCall(t, py, g.URL(), "query", "missing.txt")
	require.Equal(t, pyResult{Type: "fault", Code: peer.Unhandled, Message: "Couldn't handle the query"}, r)
	r = pyCall(t, py, g.URL(), "query", "../escape.txt")
	require.Equal(t, pyResult{Type: "fault", Code: peer.AccessDenied, Message: "Access denied"}, r)

	// A peer is added once it has answered a probe, which a Python node
	// does (a fault for a method it does not know); a hello of a port
	// with nothing behind it is refused.
	r = pyCall(t, py, g.URL(), "hello", "http://127.0.0.1:9")
	require.Equal(t, "fault", r.Type)
	require.Contains(t, r.Message, "did not answer like a peer")
	p := startPyNode(t, py)
	r = pyCall(t, py, g.URL(), "hello", p.url)
	require.Equal(t, "int", r.Type)
	require.EqualValues(t, 0, r.Value)
	require.Equal(t, []string{p.url}, g.Known(), "a Python node answers the probe (with a fault), and is added at once")

	r = pyCall(t, py, g.URL(), "fetch", "text.txt", "wrong secret")
	require.Equal(t, "fault", r.Type)
	require.Equal(t, peer.AccessDenied, r.Code)

	r = pyCall(t, py, g.URL(), "no_such_method", "x")
	require.Equal(t, "fault", r.Type)
	require.Equal(t, transport.CodeError, r.Code)
	r = pyCall(t, py, g.URL(), "query")
	require.Equal(t, "fault", r.Type)
}

// pyHello introduces other to the Python node n.
func pyHello(t *testing.T, py string, n *pyNode, other string) {
	t.Helper()
	r := pyCall(t, py, n.url, "hello", other)
	require.Equal(t, "int", r.Type)
}

func TestInteropMixedChains(t *testing.T) {
	py := python3(t)
	tr := interopTransport(t)
	ctx := context.Background()

	t.Run("python head", func(t *testing.T) {
		// Python → Go → Python → Go, the file at the far Go end.
		p1, g1, p2, g2 := startPyNode(t, py), goNode(t, tr), startPyNode(t, py), goNode(t, tr)
		pyHello(t, py, p1, g1.URL())
		require.NoError(t, g1.Hello(ctx, p2.url))
		pyHello(t, py, p2, g2.URL())
		text := []byte("Grüße, <world> & all 😀\nsecond line\ttab\n")
		putBytes(t, g2, "far.txt", text)
		putBytes(t, g2, "crlf.txt", interopText)
		putBytes(t, g2, "far.bin", interopBinary)

		r := pyCall(t, py, p1.url, "query", "far.txt")
		require.Equal(t, "str", r.Type)
		require.Equal(t, text, r.Bytes(t))
		// A Python relay passes text with CRs on as Binary, since its
		// marshaller would send raw CRs that XML reads as LFs.
		r = pyCall(t, py, p1.url, "query", "crlf.txt")
		require.Equal(t, "Binary", r.Type)
		require.Equal(t, interopText, r.Bytes(t))
		r = pyCall(t, py, p1.url, "query", "far.bin")
		require.Equal(t, "Binary", r.Type)
		require.Equal(t, interopBinary, r.Bytes(t))
		r = pyCall(t, py, p1.url, "query", "nowhere.txt")
		require.Equal(t, peer.Unhandled, r.Code)
	})

	t.Run("go head", func(t *testing.T) {
		// Go → Python → Go → Python, the file at the far Python end.
		g1, p1, g2, p2 := goNode(t, tr), startPyNode(t, py), goNode(t, tr), startPyNode(t, py)
		require.NoError(t, g1.Hello(ctx, p1.url))
		pyHello(t, py, p1, g2.URL())
		require.NoError(t, g2.Hello(ctx, p2.url))
		text := []byte("plain text from Python\nüber alles\n")
		require.NoError(t, os.WriteFile(filepath.Join(p2.dir, "far.txt"), text, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(p2.dir, "far.bin"), interopBinary, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(p2.dir, "crlf.txt"), interopText, 0o644))
		// Over 1400 bytes, Python's server gzips its reply.
		big := bytes.Repeat([]byte("a large <text> & more über\n"), 10000)
		require.NoError(t, os.WriteFile(filepath.Join(p2.dir, "big.txt"), big, 0o644))
		bigBin := bytes.Repeat(interopBinary, 10000)
		require.NoError(t, os.WriteFile(filepath.Join(p2.dir, "big.bin"), bigBin, 0o644))

		for name, want := range map[string][]byte{"far.txt": text, "far.bin": interopBinary, "crlf.txt": interopText, "big.txt": big, "big.bin": bigBin} {
			got, err := g1.Query(ctx, name, nil)
			require.NoError(t, err, name)
			require.Equal(t, want, got, name)
		}
		_, err := g1.Query(ctx, "nowhere.txt", nil)
		require.ErrorIs(t, err, peer.ErrUnhandled)

		// A Go node's fetch through Python relays, byte for byte.
		for name, want := range map[string][]byte{"far.txt": text, "far.bin": interopBinary, "crlf.txt": interopText} {
			require.NoError(t, g1.Fetch(ctx, name, g1.secret), name)
			got, err := os.ReadFile(filepath.Join(g1.dir, name))
			require.NoError(t, err)
			require.Equal(t, want, got, name)
		}
	})
}

func TestInteropPythonFetchesFromGo(t *testing.T) {
	py := python3(t)
	tr := interopTransport(t)
	p, g := startPyNode(t, py), goNode(t, tr)
	pyHello(t, py, p, g.URL())
	putBytes(t, g, "text.txt", interopText)
	putBytes(t, g, "binary.bin", interopBinary)

	r := pyCall(t, py, p.url, "fetch", "text.txt", "wrong")
	require.Equal(t, peer.AccessDenied, r.Code)
	for name, want := range map[string][]byte{"text.txt": interopText, "binary.bin": interopBinary} {
		r = pyCall(t, py, p.url, "fetch", name, p.secret)
		require.Equal(t, "int", r.Type, "%+v", r)
		got, err := os.ReadFile(filepath.Join(p.dir, name))
		require.NoError(t, err)
		require.Equal(t, want, got, name)
	}
	r = pyCall(t, py, p.url, "fetch", "nowhere.txt", p.secret)
	require.Equal(t, peer.Unhandled, r.Code)
}

// In networks that mix Go and Python nodes, in every position, queries
// from either kind find what the rules say and end, faults arrive as 100
// and 200, and no Go node forgets a Python peer for not speaking the
// extension.
func TestInteropMixedNetworks(t *testing.T) {
	py := python3(t)
	tr := interopTransport(t)
	ctx := context.Background()
	file := func(t *testing.T, dir, name string) []byte {
		b := []byte("the file " + name + " from " + filepath.Base(dir) + "\n")
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
		return b
	}

	t.Run("python in the middle of a go chain", func(t *testing.T) {
		g1, p, g2 := goNode(t, tr), startPyNode(t, py), goNode(t, tr)
		require.NoError(t, g1.Hello(ctx, p.url))
		pyHello(t, py, p, g2.URL())
		want := file(t, g2.dir, "far.txt")
		for range 2 { // the second time, g1 knows p for a book node
			got, err := g1.Query(ctx, "far.txt", nil)
			require.NoError(t, err)
			require.Equal(t, want, got)
		}
		_, err := g1.Query(ctx, "nowhere.txt", nil)
		require.ErrorIs(t, err, peer.ErrUnhandled)
		_, err = g1.Query(ctx, "../escape.txt", nil)
		require.ErrorIs(t, err, peer.ErrAccessDenied)
		require.Equal(t, []string{p.url}, g1.Known(), "a book node is kept")
		r := pyCall(t, py, p.url, "query", "far.txt")
		require.Equal(t, want, r.Bytes(t))
	})

	t.Run("python at the end", func(t *testing.T) {
		g1, g2, p := goNode(t, tr), goNode(t, tr), startPyNode(t, py)
		require.NoError(t, g1.Hello(ctx, g2.URL()))
		require.NoError(t, g2.Hello(ctx, p.url))
		want := file(t, p.dir, "end.txt")
		got, err := g1.Query(ctx, "end.txt", nil)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.NoError(t, g1.Fetch(ctx, "end.txt", g1.secret))
		got, err = os.ReadFile(filepath.Join(g1.dir, "end.txt"))
		require.NoError(t, err)
		require.Equal(t, want, got)
		_, err = g1.Query(ctx, "nowhere.txt", nil)
		require.ErrorIs(t, err, peer.ErrUnhandled)
		require.Equal(t, []string{p.url}, g2.Known())
	})

	t.Run("python at the head", func(t *testing.T) {
		p, g1, g2 := startPyNode(t, py), goNode(t, tr), goNode(t, tr)
		pyHello(t, py, p, g1.URL())
		require.NoError(t, g1.Hello(ctx, g2.URL()))
		want := file(t, g2.dir, "deep.txt")
		r := pyCall(t, py, p.url, "query", "deep.txt")
		require.Equal(t, want, r.Bytes(t))
		r = pyCall(t, py, p.url, "query", "nowhere.txt")
		require.Equal(t, peer.Unhandled, r.Code)
		r = pyCall(t, py, g1.URL(), "query", "../x")
		require.Equal(t, peer.AccessDenied, r.Code)
	})

	t.Run("python nodes in a go mesh", func(t *testing.T) {
		var urls []string
		var gos []*testNode
		var pys []*pyNode
		for range 4 {
			g := goNode(t, tr)
			gos = append(gos, g)
			urls = append(urls, g.URL())
		}
		for range 2 {
			p := startPyNode(t, py)
			pys = append(pys, p)
			urls = append(urls, p.url)
		}
		for _, g := range gos {
			for _, u := range urls {
				require.NoError(t, g.Hello(ctx, u))
			}
		}
		for _, p := range pys {
			for _, u := range urls {
				pyHello(t, py, p, u)
			}
		}
		onPy := file(t, pys[1].dir, "py.txt")
		onGo := file(t, gos[3].dir, "go.txt")
		for _, q := range []struct {
			name string
			want []byte
		}{{"py.txt", onPy}, {"go.txt", onGo}} {
			got, err := gos[0].Query(ctx, q.name, nil)
			require.NoError(t, err, q.name)
			require.Equal(t, q.want, got, q.name)
			r := pyCall(t, py, pys[0].url, "query", q.name)
			require.Equal(t, q.want, r.Bytes(t), q.name)
		}
		_, err := gos[0].Query(ctx, "nowhere.txt", nil)
		require.ErrorIs(t, err, peer.ErrUnhandled)
		r := pyCall(t, py, pys[0].url, "query", "nowhere.txt")
		require.Equal(t, peer.Unhandled, r.Code)
		for _, g := range gos {
			require.Len(t, g.Known(), len(urls)-1, "%s forgot nobody", g.URL())
		}
	})
}

// A Python client can call the extension too: it is plain XML-RPC.
func TestInteropPythonCallsTheExtension(t *testing.T) {
	py := python3(t)
	g := goNode(t, interopTransport(t))
	putBytes(t, g, "text.txt", interopText)
	r := pyCall(t, py, g.URL(), "filepeer.query", "text.txt", []string{}, "q1")
	require.Equal(t, "str", r.Type)
	require.Equal(t, interopText, r.Bytes(t))
	r = pyCall(t, py, g.URL(), "filepeer.query", "nowhere.txt", []string{}, "q2")
	require.Equal(t, peer.Unhandled, r.Code)
	r = pyCall(t, py, g.URL(), "filepeer.query", "nowhere.txt", []string{}, "q2")
	require.Equal(t, pyResult{Type: "fault", Code: peer.Unhandled, Message: "Couldn't handle the query: already handled here"}, r)
	r = pyCall(t, py, g.URL(), "filepeer.query", "text.txt", []string{}, "bad id!")
	require.Equal(t, transport.CodeError, r.Code)
	r = pyCall(t, py, g.URL(), "filepeer.info")
	require.Equal(t, "dict", r.Type, "%+v", r)
}

// A search over XML-RPC, with a Python node in the network: hits from
// every Go node in reach, none from the Python node, which cannot search,
// nor from the Go node behind it; and the Python node still answers
// queries, and is kept.
func TestInteropSearchPassesOverPython(t *testing.T) {
	py := python3(t)
	tr := interopTransport(t)
	ctx := context.Background()
	g1, g2, g3, p := goNode(t, tr), goNode(t, tr), goNode(t, tr), startPyNode(t, py)
	require.NoError(t, g1.Hello(ctx, p.url))
	require.NoError(t, g1.Hello(ctx, g3.URL()))
	require.NoError(t, g3.Hello(ctx, g1.URL()))
	pyHello(t, py, p, g2.URL())
	for _, d := range []string{g1.dir, g2.dir, g3.dir, p.dir} {
		p := filepath.Join(d, "song.ogg")
		require.NoError(t, os.WriteFile(p, []byte("la la from "+filepath.Base(d)), 0o644))
		old := time.Now().Add(-time.Hour)
		require.NoError(t, os.Chtimes(p, old, old))
	}
	require.NoError(t, g3.Index(ctx))
	hits, err := g1.Search(ctx, "SONG")
	require.NoError(t, err)
	var holders []string
	for _, h := range hits {
		holders = append(holders, h.Peer)
	}
	require.ElementsMatch(t, []string{g1.URL(), g3.URL()}, holders)
	require.NotEmpty(t, hits[len(hits)-1].Hash, "g3 had hashed its file")

	r := pyCall(t, py, p.url, "query", "song.ogg")
	require.Equal(t, "la la from "+filepath.Base(p.dir), string(r.Bytes(t)))
	require.ElementsMatch(t, []string{p.url, g3.URL()}, g1.Known(), "the Python node is kept")
}
