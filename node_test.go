package peer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var bg = context.Background()

func TestNewValidatesConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	mem := transport.NewMemory()
	for _, tc := range []struct {
		name string
		cfg  peer.Config
		want string
	}{
		{"no URL", peer.Config{Dir: dir, Transport: mem}, "URL is empty"},
		{"no Dir", peer.Config{URL: "mem://a", Transport: mem}, "Dir is empty"},
		{"missing Dir", peer.Config{URL: "mem://a", Dir: filepath.Join(dir, "nope"), Transport: mem}, "no such file"},
		{"Dir is a file", peer.Config{URL: "mem://a", Dir: file, Transport: mem}, "not a directory"},
		{"negative MaxHistory", peer.Config{URL: "mem://a", Dir: dir, Transport: mem, MaxHistory: -1}, "MaxHistory"},
		{"negative MaxKnown", peer.Config{URL: "mem://a", Dir: dir, Transport: mem, MaxKnown: -1}, "MaxKnown"},
		{"URL with a space", peer.Config{URL: "mem://a b", Dir: dir, Transport: mem}, "no peer could be sent"},
		{"URL with U+FFFF", peer.Config{URL: "mem://a\uffff", Dir: dir, Transport: mem}, "no peer could be sent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := peer.New(tc.cfg)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, n)
		})
	}
}

func TestQueryLocalFile(t *testing.T) {
	a := startNode(t, transport.NewMemory(), "mem://a")
	a.put(t, "test.txt", "hello\n")
	a.put(t, "sub/deep.txt", "deep")

	got, err := a.Query(bg, "test.txt", nil)
	require.NoError(t, err)
	require.Equal(t, "hello\n", string(got))
	got, err = a.Query(bg, "sub/deep.txt", nil)
	require.NoError(t, err)
	require.Equal(t, "deep", string(got))

	// A local file is served whatever the history, as in the book.
	got, err = a.Query(bg, "test.txt", []string{"1", "2", "3", "4", "5", "6", "7"})
	require.NoError(t, err)
	require.Equal(t, "hello\n", string(got))
}

func TestPeersKeptAndDropped(t *testing.T) {
	mem := transport.NewMemory()
	a := startNode(t, mem, "mem://a")
	honest := listenFake(t, mem, "mem://1-honest", func(context.Context, string, []string) (io.ReadCloser, error) {
		return nil, peer.ErrUnhandled
	})
	odd := listenFake(t, mem, "mem://2-odd-fault", func(context.Context, string, []string) (io.ReadCloser, error) {
		return nil, &peer.Fault{Code: 1, Message: "TypeError"}
	})
	denier := listenFake(t, mem, "mem://3-denier", func(context.Context, string, []string) (io.ReadCloser, error) {
		return nil, peer.ErrAccessDenied
	})
	broken := listenFake(t, mem, "mem://4-broken", func(context.Context, string, []string) (io.ReadCloser, error) {
		return nil, errors.New("garbage on the wire")
	})
	stopped, err := peer.New(peer.Config{URL: "mem://5-not-started", Dir: t.TempDir(), Transport: mem})
	require.NoError(t, err)
	defer stopped.Close()
	closed := startNode(t, mem, "mem://6-closed")
	require.NoError(t, closed.Close())

	for _, u := range []string{"mem://1-honest", "mem://2-odd-fault", "mem://3-denier", "mem://4-broken", "mem://5-not-started", "mem://6-closed"} {
		require.NoError(t, a.Hello(bg, u))
	}
	_, err = a.Query(bg, "missing.txt", nil)
	require.ErrorIs(t, err, peer.ErrUnhandled)
	// A fault is an answer, whatever its code (a served error crosses the
	// wire as fault 1): only the peers that did not answer are dropped.
	require.Equal(t, []string{"mem://1-honest", "mem://2-odd-fault", "mem://3-denier", "mem://4-broken"}, a.Known())
	// Each kept peer is asked twice a query: in the ring of the peers'
	// own files, then at the full depth (ring.go).
	for _, f := range []*fakePeer{honest, odd, denier, broken} {
		require.EqualValues(t, 2, f.calls.Load())
	}

	// Dropped peers are not asked again; kept ones are.
	_, err = a.Query(bg, "missing.txt", nil)
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.EqualValues(t, 4, honest.calls.Load())
	require.EqualValues(t, 4, odd.calls.Load())
}

func TestHello(t *testing.T) {
	mem := transport.NewMemory()
	a := startNode(t, mem, "mem://a", func(c *peer.Config) { c.MaxKnown = 3 })

	require.NoError(t, a.Hello(bg, "mem://a"))
	require.Empty(t, a.Known(), "a node never knows itself")

	require.NoError(t, a.Hello(bg, "mem://c"))
	require.NoError(t, a.Hello(bg, "mem://b"))
	require.NoError(t, a.Hello(bg, "mem://b"))
	require.Equal(t, []string{"mem://b", "mem://c"}, a.Known())

	for _, bad := range []string{"", "mem://with space", "mem://nl\n", "mem://odd\uffff", strings.Repeat("x", 5000)} {
		require.Error(t, a.Hello(bg, bad), "%q", bad)
	}
	require.NoError(t, a.Hello(bg, "mem://d"))
	require.ErrorContains(t, a.Hello(bg, "mem://e"), "known peers")
	require.NoError(t, a.Hello(bg, "mem://d"), "a known peer is no new one")
	require.Equal(t, []string{"mem://b", "mem://c", "mem://d"}, a.Known())

	a.Forget("mem://c")
	require.Equal(t, []string{"mem://b", "mem://d"}, a.Known())
}

func TestHelloOverTheTransport(t *testing.T) {
	mem := transport.NewMemory()
	a := startNode(t, mem, "mem://a")
	p, err := mem.Dial("mem://a")
	require.NoError(t, err)
	require.NoError(t, p.Hello(bg, "mem://b"))
	require.NoError(t, p.Hello(bg, "mem://a"))
	require.Equal(t, []string{"mem://b"}, a.Known())
	err = p.Hello(bg, "")
	var f *peer.Fault
	require.ErrorAs(t, err, &f, "a bad URL is a fault on the wire")
	require.Equal(t, transport.CodeError, f.Code)
}

func TestFetch(t *testing.T) {
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	for _, tc := range []struct{ name, content string }{
		{"text.txt", "line one\r\nline two\n\ttabbed ünïcödé ✓\n"},
		{"all-bytes.bin", string(allBytes)},
		{"empty", ""},
		{"big.bin", strings.Repeat("0123456789abcdef", 1<<16)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := transport.NewMemory()
			nodes := line(t, mem, 3)
			nodes[2].put(t, tc.name, tc.content)
			require.NoError(t, nodes[0].Fetch(bg, tc.name, nodes[0].secret))
			got, err := os.ReadFile(filepath.Join(nodes[0].dir, tc.name))
			require.NoError(t, err)
			require.True(t, bytes.Equal([]byte(tc.content), got), "bytes differ")
			require.Equal(t, []string{tc.name}, nodes[0].files(t))
			// The fetched file is served like any other.
			list, err := nodes[0].List(bg)
			require.NoError(t, err)
			require.Equal(t, []string{tc.name}, list)
		})
	}
}

func TestFetchOverTheTransport(t *testing.T) {
	mem := transport.NewMemory()
	nodes := line(t, mem, 2)
	nodes[1].put(t, "f.txt", "over the wire")
	p, err := mem.Dial(nodes[0].URL())
	require.NoError(t, err)
	require.NoError(t, p.Fetch(bg, "f.txt", nodes[0].secret))
	got, err := os.ReadFile(filepath.Join(nodes[0].dir, "f.txt"))
	require.NoError(t, err)
	require.Equal(t, "over the wire", string(got))

	err = p.Fetch(bg, "nope.txt", nodes[0].secret)
	require.ErrorIs(t, err, peer.ErrUnhandled)
	err = p.Fetch(bg, "f.txt", "wrong")
	require.ErrorIs(t, err, peer.ErrAccessDenied)
}

func TestFetchWrongSecret(t *testing.T) {
	mem := transport.NewMemory()
	nodes := line(t, mem, 2)
	nodes[1].put(t, "f.txt", "secret stuff")
	for _, s := range []string{"", "wrong", nodes[0].secret + "x", strings.ToUpper(nodes[0].secret)} {
		err := nodes[0].Fetch(bg, "f.txt", s)
		require.ErrorIs(t, err, peer.ErrAccessDenied)
	}
	require.Empty(t, nodes[0].files(t))

	// A node with no secret refuses every fetch, even with an empty one.
	open := startNode(t, mem, "mem://no-secret", func(c *peer.Config) { c.Secret = "" })
	require.NoError(t, open.Hello(bg, nodes[1].URL()))
	require.ErrorIs(t, open.Fetch(bg, "f.txt", ""), peer.ErrAccessDenied)
	require.Empty(t, open.files(t))
}

func TestFetchKeepsExistingFile(t *testing.T) {
	mem := transport.NewMemory()
	nodes := line(t, mem, 2)
	nodes[0].put(t, "f.txt", "mine")
	nodes[1].put(t, "f.txt", "theirs")
	before, err := os.Stat(filepath.Join(nodes[0].dir, "f.txt"))
	require.NoError(t, err)
	require.NoError(t, nodes[0].Fetch(bg, "f.txt", nodes[0].secret))
	got, err := os.ReadFile(filepath.Join(nodes[0].dir, "f.txt"))
	require.NoError(t, err)
	require.Equal(t, "mine", string(got))
	after, err := os.Stat(filepath.Join(nodes[0].dir, "f.txt"))
	require.NoError(t, err)
	require.True(t, os.SameFile(before, after))
	require.Equal(t, before.ModTime(), after.ModTime())
}

func TestFetchNotFound(t *testing.T) {
	mem := transport.NewMemory()
	nodes := line(t, mem, 3)
	err := nodes[0].Fetch(bg, "nowhere.txt", nodes[0].secret)
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.Empty(t, nodes[0].files(t))
}

// Concurrent fetches of one name store it once and clobber nothing.
func TestConcurrentFetchesOfOneName(t *testing.T) {
	mem := transport.NewMemory()
	nodes := line(t, mem, 2)
	nodes[1].put(t, "f.txt", strings.Repeat("z", 100_000))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() { errs <- nodes[0].Fetch(bg, "f.txt", nodes[0].secret) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, []string{"f.txt"}, nodes[0].files(t))
}

func TestTraversalIsDenied(t *testing.T) {
	parent := t.TempDir()
	outside := filepath.Join(parent, "outside.txt")
	require.NoError(t, os.WriteFile(outside, []byte("do not serve"), 0o644))

	mem := transport.NewMemory()
	a := startNode(t, mem, "mem://a", func(c *peer.Config) {
		c.Dir = filepath.Join(parent, "shared")
		require.NoError(t, os.Mkdir(c.Dir, 0o755))
	})
	a.put(t, "sub/ok.txt", "ok")
	require.NoError(t, os.Symlink(outside, filepath.Join(a.dir, "abs-link")))
	require.NoError(t, os.Symlink("../outside.txt", filepath.Join(a.dir, "rel-link")))
	require.NoError(t, os.Symlink(parent, filepath.Join(a.dir, "dir-link")))
	require.NoError(t, os.Symlink("/nonexistent/x", filepath.Join(a.dir, "dangling-out")))
	spy := listenFake(t, mem, "mem://spy", func(context.Context, string, []string) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("a peer answered")), nil
	})
	require.NoError(t, a.Hello(bg, "mem://spy"))
	p, err := mem.Dial("mem://a")
	require.NoError(t, err)

	for _, name := range []string{
		"../outside.txt", "sub/../../outside.txt", "/etc/passwd", outside,
		"abs-link", "rel-link", "dir-link/outside.txt", "dangling-out",
		"a\x00b", "..\\outside.txt", "sub\\ok.txt", "", ".", "..", "./sub/ok.txt",
		"sub/", "sub//ok.txt", "nl\n", "bad\xffutf8", ".filepeer-tmp-0123",
	} {
		_, err := a.Query(bg, name, nil)
		require.ErrorIs(t, err, peer.ErrAccessDenied, "Query(%q)", name)
		_, err = p.Query(bg, name, nil)
		require.ErrorIs(t, err, peer.ErrAccessDenied, "remote query(%q)", name)
		err = a.Fetch(bg, name, a.secret)
		require.ErrorIs(t, err, peer.ErrAccessDenied, "Fetch(%q)", name)
	}
	require.Zero(t, spy.calls.Load(), "a refused name is never broadcast")

	// A directory's name is no file here, as the book's node sees it: the
	// query goes on (and a peer that asks is answered 100, not refused,
	// so it keeps this node); a fetch of it is refused before any call.
	got, err := a.Query(bg, "sub", nil)
	require.NoError(t, err)
	require.Equal(t, "a peer answered", string(got))
	_, err = p.Query(bg, "sub", []string{"mem://spy"})
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.ErrorContains(t, a.Fetch(bg, "sub", a.secret), "a directory of that name is in Dir")
	require.EqualValues(t, 1, spy.calls.Load())
	require.Equal(t, []string{"abs-link", "dangling-out", "dir-link", "rel-link", "sub", "sub/ok.txt"}, a.files(t))
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Len(t, entries, 2, "nothing written beside the shared directory")

	// The guard is no blanket ban: a good name still goes out.
	got, err = a.Query(bg, "elsewhere.txt", nil)
	require.NoError(t, err)
	require.Equal(t, "a peer answered", string(got))
}

func TestInterruptedFetchLeavesNoFile(t *testing.T) {
	mem := transport.NewMemory()
	a := startNode(t, mem, "mem://a")
	listenFake(t, mem, "mem://flaky", func(context.Context, string, []string) (io.ReadCloser, error) {
		return &failingReader{}, nil
	})
	require.NoError(t, a.Hello(bg, "mem://flaky"))
	err := a.Fetch(bg, "f.bin", a.secret)
	require.ErrorContains(t, err, "connection reset")
	require.Empty(t, a.files(t), "no partial file, no temporary file")

	// Cancelled in the middle of the copy.
	ctx, cancel := context.WithCancel(bg)
	listenFake(t, mem, "mem://slow", func(context.Context, string, []string) (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(strings.NewReader("first part"), cancelReader{cancel})), nil
	})
	a.Forget("mem://flaky")
	require.NoError(t, a.Hello(bg, "mem://slow"))
	err = a.Fetch(ctx, "g.bin", a.secret)
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, a.files(t))
}

// cancelReader cancels a context when read, then yields endless zeros.
type cancelReader struct{ cancel func() }

func (r cancelReader) Read(p []byte) (int, error) {
	r.cancel()
	clear(p)
	return len(p), nil
}

func TestStartSweepsTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	leftover := filepath.Join(dir, ".filepeer-tmp-deadbeef")
	require.NoError(t, os.WriteFile(leftover, []byte("half a file"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("kept"), 0o644))
	a := startNode(t, transport.NewMemory(), "mem://a", func(c *peer.Config) { c.Dir = dir })
	require.NoFileExists(t, leftover)
	require.Equal(t, []string{"keep.txt"}, a.files(t))
}

func TestListSkipsTemporaryFiles(t *testing.T) {
	a := startNode(t, transport.NewMemory(), "mem://a")
	a.put(t, "b.txt", "b")
	a.put(t, "a/c.txt", "c")
	require.NoError(t, os.WriteFile(filepath.Join(a.dir, ".filepeer-tmp-1"), nil, 0o600))
	names, err := a.List(bg)
	require.NoError(t, err)
	require.Equal(t, []string{"a/c.txt", "b.txt"}, names)
}

func TestConcurrentQueriesAndHellos(t *testing.T) {
	mem := transport.NewMemory()
	nodes := line(t, mem, 4)
	nodes[3].put(t, "far.txt", "far")
	nodes[0].put(t, "near.txt", "near")
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 60 {
		wg.Go(func() {
			got, err := nodes[0].Query(bg, "far.txt", nil)
			if err == nil && string(got) != "far" {
				err = fmt.Errorf("got %q", got)
			}
			errs <- err
		})
		wg.Go(func() {
			_, err := nodes[i%4].Query(bg, "near.txt", nil)
			if i%4 != 0 && !errors.Is(err, peer.ErrUnhandled) {
				errs <- fmt.Errorf("near.txt from node %d: %v", i%4, err)
				return
			}
			errs <- nil
		})
		wg.Go(func() { errs <- nodes[i%4].Hello(bg, fmt.Sprintf("mem://extra%d", i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestCloseEndsInflightWork(t *testing.T) {
	mem := transport.NewMemory()
	a := startNode(t, mem, "mem://a")
	entered := make(chan struct{})
	listenFake(t, mem, "mem://blackhole", func(ctx context.Context, _ string, _ []string) (io.ReadCloser, error) {
		close(entered)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	require.NoError(t, a.Hello(bg, "mem://blackhole"))
	errc := make(chan error, 1)
	go func() {
		_, err := a.Query(bg, "x", nil)
		errc <- err
	}()
	<-entered
	require.NoError(t, a.Close())
	require.ErrorIs(t, <-errc, context.Canceled)

	require.NoError(t, a.Close(), "Close is idempotent")
	_, err := a.Query(bg, "x", nil)
	require.ErrorIs(t, err, peer.ErrClosed)
	require.ErrorIs(t, a.Hello(bg, "mem://b"), peer.ErrClosed)
	require.ErrorIs(t, a.Fetch(bg, "x", a.secret), peer.ErrClosed)
	_, err = a.List(bg)
	require.ErrorIs(t, err, peer.ErrClosed)
	require.ErrorIs(t, a.Start(), peer.ErrClosed)

	// A closed node is a dead host to its peers.
	p, err := mem.Dial("mem://a")
	require.NoError(t, err)
	_, err = p.Query(bg, "x", nil)
	require.ErrorIs(t, err, transport.ErrUnreachable)
}

// Over XML-RPC, a query that a node is relaying for a peer ends when the
// node closes: Close returns, and so do the peer's call to the node and
// the node's call onwards.
func TestCloseEndsServedRelay(t *testing.T) {
	xr := xmlrpc.New(xmlrpc.Config{})
	t.Cleanup(func() { xr.Close() })
	a := startNode(t, xr, "http://"+testenv.FreeAddr(t))
	entered, left := make(chan struct{}), make(chan struct{})
	hole := &fakePeer{query: func(ctx context.Context, _ string, _ []string) (io.ReadCloser, error) {
		close(entered)
		<-ctx.Done()
		close(left)
		return nil, ctx.Err()
	}}
	l, err := xr.Listen("http://127.0.0.1:0", hole)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	require.NoError(t, a.Hello(bg, l.(interface{ URL() string }).URL()))
	p, err := xr.Dial(a.URL())
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() {
		_, err := p.Query(bg, "x", nil)
		errc <- err
	}()
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	for _, c := range []struct {
		what string
		done func() bool
	}{
		{"Close", func() bool { return <-closed == nil }},
		{"the peer's query", func() bool { return <-errc != nil }},
		{"the relayed call", func() bool { <-left; return true }},
	} {
		ok := make(chan bool, 1)
		go func() { ok <- c.done() }()
		select {
		case v := <-ok:
			require.True(t, v, c.what)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not end", c.what)
		}
	}
}

func TestStartTwiceAndPortInUse(t *testing.T) {
	mem := transport.NewMemory()
	a := startNode(t, mem, "mem://a")
	require.ErrorContains(t, a.Start(), "already started")
	b, err := peer.New(peer.Config{URL: "mem://a", Dir: t.TempDir(), Transport: mem})
	require.NoError(t, err)
	defer b.Close()
	require.ErrorContains(t, b.Start(), "in use")
}

func TestRelayedBodyStreams(t *testing.T) {
	mem := transport.NewMemory()
	nodes := line(t, mem, 3)
	nodes[2].put(t, "big", strings.Repeat("x", 1<<20))
	body, err := nodes[0].QueryReader(bg, "big", nil)
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, body)
	require.NoError(t, err)
	require.EqualValues(t, 1<<20, n)
	require.NoError(t, body.Close())
}

func TestFaults(t *testing.T) {
	var f *peer.Fault
	err := fmt.Errorf("wrapped: %w", &peer.Fault{Code: peer.AccessDenied, Message: "other words"})
	require.ErrorIs(t, err, peer.ErrAccessDenied)
	require.NotErrorIs(t, err, peer.ErrUnhandled)
	require.ErrorAs(t, err, &f)
	require.Equal(t, peer.AccessDenied, f.Code)
	require.Equal(t, "fault 200: other words", f.Error())
	require.NotErrorIs(t, errors.New("fault 100"), peer.ErrUnhandled)
}

func TestNewSecret(t *testing.T) {
	a, b := peer.NewSecret(), peer.NewSecret()
	require.NotEqual(t, a, b)
	require.GreaterOrEqual(t, len(a), 26)
}

// Over XML-RPC, a URL with port 0 serves on a free port, which URL then
// tells and peers reach.
func TestStartOnPortZero(t *testing.T) {
	a, err := peer.New(peer.Config{URL: "http://127.0.0.1:0", Dir: t.TempDir()})
	require.NoError(t, err)
	defer a.Close()
	require.Equal(t, "http://127.0.0.1:0", a.URL())
	require.NoError(t, a.Start())
	require.NotEqual(t, "http://127.0.0.1:0", a.URL())
	require.Regexp(t, `^http://127\.0\.0\.1:[1-9][0-9]*$`, a.URL())

	bDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bDir, "b.txt"), []byte("from b"), 0o644))
	b, err := peer.New(peer.Config{URL: "http://127.0.0.1:0", Dir: bDir})
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.Start())
	require.NoError(t, a.Hello(bg, b.URL()))
	got, err := a.Query(bg, "b.txt", nil)
	require.NoError(t, err)
	require.Equal(t, "from b", string(got))
}

func TestFetchReportsProgress(t *testing.T) {
	mem := transport.NewMemory()
	var reports []int64
	a := startNode(t, mem, "mem://a", func(c *peer.Config) {
		c.Progress = func(name string, written int64) {
			require.Equal(t, "big.bin", name)
			reports = append(reports, written)
		}
	})
	b := startNode(t, mem, "mem://b")
	require.NoError(t, a.Hello(bg, b.URL()))
	const size = 1 << 20
	b.put(t, "big.bin", strings.Repeat("x", size))
	require.NoError(t, a.Fetch(bg, "big.bin", a.secret))
	require.Greater(t, len(reports), 1, "reported along the way, not only at the end")
	require.True(t, slices.IsSorted(reports))
	require.EqualValues(t, size, reports[len(reports)-1])
}

// A history entry no wire could carry is the caller's error: refused before
// any peer is asked, so no peer is blamed and dropped for it.
func TestQueryRefusesUnsendableHistory(t *testing.T) {
	mem := transport.NewMemory()
	nodes := line(t, mem, 2)
	_, err := nodes[0].Query(bg, "x.txt", []string{"mem://odd\uffff"})
	require.ErrorContains(t, err, "no peer could be sent")
	require.Equal(t, []string{nodes[1].URL()}, nodes[0].Known())
}
