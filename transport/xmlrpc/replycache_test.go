package xmlrpc

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/internal/filestamp"
)

// settledFile writes b to a file in dir made an hour old, so that its
// version is trusted.
func settledFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(path, old, old))
	return path
}

// denseText is n bytes or so of text with an entity every 20 bytes.
func denseText(n int, word string) []byte {
	line := "the " + word + " fox & <friends>\n"
	return bytes.Repeat([]byte(line), n/len(line)+1)
}

// randomBytes is n random bytes, sent as base64.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// fileHandler is a handler of a reply cache of budget bytes that serves
// query(name) from the files of dir.
func fileHandler(dir string, budget int64) *xmlrpcHandler {
	return newHandler(&fakePeer{query: func(_ context.Context, name string, _ []string) (io.ReadCloser, error) {
		return os.Open(filepath.Join(dir, name))
	}}, DefaultMaxRequestBytes, time.Minute, budget)
}

// replyOf returns h's reply to query(name).
func replyOf(t *testing.T, h http.Handler, name string) []byte {
	t.Helper()
	call, err := encodeCall("query", name, []string{})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/RPC2", bytes.NewReader(call)))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, rec.Header().Get("Content-Length"), strconv.Itoa(rec.Body.Len()))
	return rec.Body.Bytes()
}

// cacheState is what c holds: its entries and the bytes it counts.
func cacheState(c *replyCache) (entries int, live int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.live
}

// TestReplyCacheServesSameBytes checks that a file's reply is cached on
// its second send, not its first, that the cached reply is the very
// document the encoders write, for text and base64, and that plain text
// is never cached.
func TestReplyCacheServesSameBytes(t *testing.T) {
	dir := t.TempDir()
	settledFile(t, dir, "text", denseText(1<<20+3, "quick"))
	settledFile(t, dir, "binary", randomBytes(1<<20+5, 1))
	settledFile(t, dir, "plain", bytes.Repeat([]byte("nothing to escape\n"), 1<<20/18+1))
	h := fileHandler(dir, 0)
	off := fileHandler(dir, -1)
	require.Nil(t, off.replies)
	for i, name := range []string{"text", "binary", "plain"} {
		want := replyOf(t, off, name)
		require.Equal(t, want, replyOf(t, h, name), "first send")
		n, _ := cacheState(h.replies)
		require.Equal(t, min(i, 2), n, "not cached on the first send")
		require.Equal(t, want, replyOf(t, h, name), "second send, recorded")
		require.Equal(t, want, replyOf(t, h, name), "third send, from the cache")
	}
	n, live := cacheState(h.replies)
	require.Equal(t, 2, n, "plain text is not cached")
	require.Positive(t, live)
}

// TestReplyCacheChangedFile checks that a file rewritten in place, with
// the same size and its old modification time put back, is served in its
// new version, not from the cache.
func TestReplyCacheChangedFile(t *testing.T) {
	dir := t.TempDir()
	one := denseText(1<<20, "quick")
	two := bytes.ReplaceAll(one, []byte("quick"), []byte("slow!"))
	path := settledFile(t, dir, "f", one)
	h := fileHandler(dir, 0)
	off := fileHandler(dir, -1)
	first := replyOf(t, off, "f")
	for range 3 {
		require.Equal(t, first, replyOf(t, h, "f"))
	}
	n, _ := cacheState(h.replies)
	require.Equal(t, 1, n)

	fi, err := os.Stat(path)
	require.NoError(t, err)
	// The change time moves in clock ticks: wait one out.
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, os.WriteFile(path, two, 0o644))
	require.NoError(t, os.Chtimes(path, fi.ModTime(), fi.ModTime()))
	second := replyOf(t, off, "f")
	require.NotEqual(t, first, second)
	for range 3 {
		require.Equal(t, second, replyOf(t, h, "f"))
	}
}

// TestReplyCacheBudget checks that the cache never counts more than its
// budget, evicting the least recently used reply, and that a reply
// larger than half the budget is never cached.
func TestReplyCacheBudget(t *testing.T) {
	dir := t.TempDir()
	const budget = 5 << 20 // two 1.3 MiB replies and a bit, not three
	for i, name := range []string{"a", "b", "c", "d"} {
		settledFile(t, dir, name, denseText(1<<20+i, name))
	}
	settledFile(t, dir, "big", randomBytes(2<<20, 2)) // 2.7 MiB as base64
	h := fileHandler(dir, budget)
	for _, name := range []string{"a", "b", "c", "d", "a", "big", "big", "big"} {
		for range 2 {
			replyOf(t, h, name)
		}
		_, live := cacheState(h.replies)
		require.LessOrEqual(t, live, int64(budget))
	}
	n, live := cacheState(h.replies)
	require.Equal(t, 3, n) // b evicted when a came back; big never came in
	require.LessOrEqual(t, live, int64(budget))
	h.replies.mu.Lock()
	var sum int64
	for _, e := range h.replies.entries {
		sum += int64(cap(e.doc))
	}
	h.replies.mu.Unlock()
	require.Equal(t, sum, live, "the cache counts what it holds")
}

// TestReplyCachePinned checks that a reply evicted while it is being sent
// still counts against the budget until it is let go.
func TestReplyCachePinned(t *testing.T) {
	c := newReplyCache(100)
	var vs [5]version
	for i := range vs {
		vs[i] = version{stamp: stampFor(t, int64(i)), size: int64(i), ok: true}
	}
	v := func(i int) version { return vs[i] }
	e := c.reserve(v(1), 50)
	require.NotNil(t, e)
	e.doc = append(e.doc, make([]byte, 50)...)
	c.commit(e, true)
	held := c.get(v(1))
	require.NotNil(t, held)
	require.Nil(t, c.reserve(v(2), 51), "over half the budget")
	f := c.reserve(v(2), 50)
	require.NotNil(t, f, "room beside the first")
	f.doc = append(f.doc, make([]byte, 50)...)
	c.commit(f, true)
	// A third must evict both: the first, the least recently used, does
	// not free its room, as it is still being sent.
	g := c.reserve(v(3), 50)
	require.NotNil(t, g)
	require.Nil(t, c.reserve(v(4), 1), "the budget is taken by the pinned and the filling")
	g.doc = append(g.doc, make([]byte, 50)...)
	c.commit(g, true)
	require.Nil(t, c.get(v(1)), "evicted")
	_, live := cacheState(c)
	require.Equal(t, int64(100), live)
	c.release(held)
	n, live := cacheState(c)
	require.Equal(t, 1, n)
	require.Equal(t, int64(50), live)
}

// stampFor is the stamp of a file of its own of n bytes.
func stampFor(t *testing.T, n int64) filestamp.Stamp {
	t.Helper()
	fi, err := os.Stat(settledFile(t, t.TempDir(), "f", make([]byte, n)))
	require.NoError(t, err)
	s, ok := filestamp.Of(fi)
	if !ok {
		t.Skip("no stamps on this platform")
	}
	return s
}

// TestReplyCacheConcurrentReaders checks that many clients reading one
// cached reply at once, over loopback, all get it whole, from the one
// buffer, while the budget holds.
func TestReplyCacheConcurrentReaders(t *testing.T) {
	dir := t.TempDir()
	settledFile(t, dir, "f", randomBytes(1<<20, 3))
	h := fileHandler(dir, 4<<20)
	want := replyOf(t, fileHandler(dir, -1), "f")
	replyOf(t, h, "f")
	replyOf(t, h, "f")
	e := h.replies.get(versionOfPath(t, filepath.Join(dir, "f")))
	require.NotNil(t, e)
	h.replies.release(e)
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	call, err := encodeCall("query", "f", []string{})
	require.NoError(t, err)
	const readers = 16
	got := make([][]byte, readers)
	errs := make([]error, readers)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			resp, err := client.Post(srv.URL+"/RPC2", "text/xml", bytes.NewReader(call))
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			// Read slowly, a small piece at a time, so that the
			// replies overlap.
			var b bytes.Buffer
			buf := make([]byte, 4096)
			for {
				n, err := resp.Body.Read(buf)
				b.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
			got[i] = b.Bytes()
		})
	}
	wg.Wait()
	for i := range readers {
		require.NoError(t, errs[i])
		require.Equal(t, want, got[i])
	}
	n, live := cacheState(h.replies)
	require.Equal(t, 1, n)
	require.Equal(t, int64(len(want)), live, "one buffer for all")
	h.replies.mu.Lock()
	require.Zero(t, h.replies.entries[e.stamp].refs)
	h.replies.mu.Unlock()
}

func versionOfPath(t *testing.T, path string) version {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	v := versionOf(f)
	require.True(t, v.ok)
	return v
}
