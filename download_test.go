package peer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/peertest"
	"github.com/filepeer/peer/transport"
)

// fetchDeadline is the context of a test's fetch: a minute at most.
func fetchDeadline(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// putRandom writes size seeded random bytes as dir/name, an hour old so
// that its node hashes it, and returns their hex SHA-256.
func putRandom(t testing.TB, dir, name string, size int64, seed uint64) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	f, err := os.Create(p)
	require.NoError(t, err)
	h := sha256.New()
	src := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, err = io.CopyN(io.MultiWriter(f, h), src, size)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(p, old, old))
	return hex.EncodeToString(h.Sum(nil))
}

// fileHash returns the hex SHA-256 of a file, "" if it is not there.
func fileHash(t testing.TB, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

// holders puts the same random file on each named node of net and has
// them all hash it; it returns the file's hash.
func holders(t testing.TB, net *peertest.Network, name string, size int64, nodes ...string) string {
	t.Helper()
	var hash string
	for _, nd := range nodes {
		hash = putRandom(t, net.Node(nd).Dir(), name, size, 7)
		require.NoError(t, net.Node(nd).Peer().Index(context.Background()))
	}
	return hash
}

// rangeBytes sums the file bytes that filepeer.range calls carried, per
// callee.
func rangeBytes(tr peertest.Trace) map[string]int64 {
	out := make(map[string]int64)
	for _, c := range tr {
		if c.Method == peertest.MethodRange {
			out[c.Callee] += c.Bytes
		}
	}
	return out
}

// A file held by three nodes comes in pieces from all three, is checked,
// and the result says so.
func TestDownloadFromSeveralHolders(t *testing.T) {
	net := peertest.Edges(t, "a-b a-c a-d")
	const size = 8 << 20
	hash := holders(t, net, "film.bin", size, "b", "c", "d")
	a := net.Node("a")
	res, err := a.Peer().Download(fetchDeadline(t), "film.bin", a.Secret())
	require.NoError(t, err)
	require.Equal(t, peer.Fetched, res.Status)
	require.Equal(t, hash, res.Hash)
	require.Equal(t, int64(size), res.Size)
	require.Len(t, res.Holders, 3)
	require.Equal(t, hash, fileHash(t, filepath.Join(a.Dir(), "film.bin")))
	require.Equal(t, []string{"film.bin"}, a.Files(), "no partial file is left")
	per := rangeBytes(net.Trace())
	require.Len(t, per, 3)
	require.Equal(t, int64(size), per["b"]+per["c"]+per["d"], "each byte crossed once")

	again, err := a.Peer().Download(fetchDeadline(t), "film.bin", a.Secret())
	require.NoError(t, err)
	require.Equal(t, peer.AlreadyHere, again.Status)
	require.NoError(t, a.Fetch(fetchDeadline(t), "film.bin"), "Fetch still returns nil for a file already here")
}

// Progress tells the size, the bytes so far and the holders in use, and
// the old Progress keeps being called.
func TestDownloadProgress(t *testing.T) {
	var mu sync.Mutex
	var seen []peer.FetchProgress
	var old []int64
	net := peertest.Edges(t, "a-b a-c", peertest.Configure(func(c *peer.Config) {
		c.FetchProgress = func(p peer.FetchProgress) { mu.Lock(); seen = append(seen, p); mu.Unlock() }
		c.Progress = func(_ string, n int64) { mu.Lock(); old = append(old, n); mu.Unlock() }
	}))
	const size = 3<<20 + 5
	holders(t, net, "f.bin", size, "b", "c")
	require.NoError(t, net.Node("a").Fetch(fetchDeadline(t), "f.bin"))
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, seen)
	end := seen[len(seen)-1]
	require.Equal(t, peer.FetchProgress{Name: "f.bin", Bytes: size, Size: size, Holders: end.Holders}, end)
	maxHolders := 0
	for _, p := range seen {
		require.Equal(t, int64(size), p.Size)
		require.LessOrEqual(t, p.Bytes, int64(size))
		maxHolders = max(maxHolders, p.Holders)
	}
	require.Equal(t, 2, maxHolders)
	require.Equal(t, int64(size), old[len(old)-1])
}

// A holder that corrupts what it sends is caught at its first piece and
// dropped; the file comes right from the honest one, and the liar is not
// asked for those contents again. Nothing wrong is ever placed under the
// name: the name only appears once the whole has been checked.
func TestDownloadCorruptHolderCaught(t *testing.T) {
	net := peertest.Edges(t, "a-b a-c")
	const size = 6 << 20
	hash := holders(t, net, "song.ogg", size, "b", "c")
	net.FaultNode("b", peertest.Corrupt())
	a := net.Node("a")
	p := filepath.Join(a.Dir(), "song.ogg")
	stop := watchName(t, p, hash)
	res, err := a.Peer().Download(fetchDeadline(t), "song.ogg", a.Secret())
	stop()
	require.NoError(t, err)
	require.Equal(t, peer.Fetched, res.Status)
	require.Equal(t, []string{net.Node("c").URL()}, res.Holders)
	require.Equal(t, hash, fileHash(t, p))
	fromB := net.Trace().Between("a", "b").Filter(func(c peertest.Call) bool { return c.Method == peertest.MethodRange })
	require.NotEmpty(t, fromB)
	require.LessOrEqual(t, len(fromB), 2, "b is dropped at its first bad piece (two asked at once)")

	// The same contents again: b is not asked for them.
	require.NoError(t, os.Remove(p))
	net.ResetTrace()
	res, err = a.Peer().Download(fetchDeadline(t), "song.ogg", a.Secret())
	require.NoError(t, err)
	require.Equal(t, peer.Fetched, res.Status)
	require.Empty(t, rangeBytes(net.Trace())["b"])
}

// With the liar as the only holder the fetch fails with ErrHashMismatch
// and nothing is placed; asked again, it fails at once.
func TestDownloadOnlyLiarFails(t *testing.T) {
	for _, size := range []int64{1000, 3 << 20} {
		net := peertest.Edges(t, "a-b")
		holders(t, net, "x.bin", size, "b")
		net.FaultNode("b", peertest.Corrupt())
		a := net.Node("a")
		err := a.Fetch(fetchDeadline(t), "x.bin")
		require.ErrorIs(t, err, peer.ErrHashMismatch)
		_, ok := a.Read("x.bin")
		require.False(t, ok, "nothing is placed under the name")
		net.ResetTrace()
		_, err = a.Peer().Download(fetchDeadline(t), "x.bin", a.Secret())
		require.ErrorIs(t, err, peer.ErrHashMismatch)
		require.Empty(t, rangeBytes(net.Trace()), "the liar is not asked again")
	}
}

// watchName checks, until stop, that whatever file is at p has the
// contents of hash: a polling check, as a user looking at the directory.
func watchName(t *testing.T, p, hash string) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
			if got := fileHash(t, p); got != "" && got != hash {
				t.Errorf("%s held wrong contents %s", p, got)
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// A 64 MiB fetch cut at half way (its context cancelled) keeps its
// verified pieces; the next fetch of those contents brings only the rest,
// so that the file's bytes cross less than 10% more than once.
func TestDownloadResumesAfterCut(t *testing.T) {
	const size = 64 << 20
	ctx, cancel := context.WithCancel(fetchDeadline(t))
	net := peertest.Edges(t, "a-b", peertest.Configure(func(c *peer.Config) {
		c.FetchProgress = func(p peer.FetchProgress) {
			if p.Bytes >= size/2 {
				cancel()
			}
		}
	}))
	hash := holders(t, net, "big.bin", size, "b")
	a := net.Node("a")
	_, err := a.Peer().Download(ctx, "big.bin", a.Secret())
	require.ErrorIs(t, err, context.Canceled)
	_, ok := a.Read("big.bin")
	require.False(t, ok)
	require.Equal(t, []string{".filepeer-part-" + hash}, a.Files(), "the partial file is kept")
	names, err := a.Peer().List(fetchDeadline(t))
	require.NoError(t, err)
	require.Empty(t, names, "and never listed")
	first := net.Trace().Bytes()

	net.ResetTrace()
	res, err := a.Peer().Download(fetchDeadline(t), "big.bin", a.Secret())
	require.NoError(t, err)
	require.Equal(t, peer.Fetched, res.Status)
	require.Equal(t, hash, fileHash(t, filepath.Join(a.Dir(), "big.bin")))
	second := net.Trace().Bytes()
	t.Logf("first run moved %d bytes, the second %d (resumed %d); again: %.1f%% of the file", first, second, res.Resumed, 100*float64(first+second-size)/size)
	require.GreaterOrEqual(t, res.Resumed, int64(size/2-4<<20))
	require.Less(t, first+second, int64(size+size/10), "less than 10% moved again")
	require.Equal(t, []string{"big.bin"}, a.Files())
}

// A node killed in mid-fetch resumes after its restart, from the pieces
// on its disk.
func TestDownloadResumesAfterCrash(t *testing.T) {
	const size = 16 << 20
	crashed := make(chan struct{})
	var once sync.Once
	net := peertest.Edges(t, "a-b", peertest.Configure(func(c *peer.Config) {
		c.FetchProgress = func(p peer.FetchProgress) {
			if p.Bytes >= size/2 {
				once.Do(func() { close(crashed) })
			}
		}
	}))
	hash := holders(t, net, "big.bin", size, "b")
	a := net.Node("a")
	errc := make(chan error, 1)
	go func() { _, err := a.Peer().Download(fetchDeadline(t), "big.bin", a.Secret()); errc <- err }()
	<-crashed
	a.Crash()
	require.Error(t, <-errc)
	a.Restart(peertest.KeepDir)
	res, err := a.Peer().Download(fetchDeadline(t), "big.bin", a.Secret())
	require.NoError(t, err)
	require.Positive(t, res.Resumed)
	require.Equal(t, hash, fileHash(t, filepath.Join(a.Dir(), "big.bin")))
}

// A holder that goes away mid-fetch is dropped, and the rest comes from
// the others.
func TestDownloadHolderGoneMidway(t *testing.T) {
	const size = 16 << 20
	var once sync.Once
	gone := make(chan struct{})
	net := peertest.Edges(t, "a-b a-c a-d", peertest.Configure(func(c *peer.Config) {
		c.FetchProgress = func(p peer.FetchProgress) {
			if p.Bytes >= size/3 {
				once.Do(func() { close(gone) })
			}
		}
	}))
	hash := holders(t, net, "f.bin", size, "b", "c", "d")
	net.FaultNode("d", peertest.CutAfter(300<<10).Only(peertest.MethodRange))
	go func() { <-gone; net.Node("c").Crash() }()
	a := net.Node("a")
	res, err := a.Peer().Download(fetchDeadline(t), "f.bin", a.Secret())
	require.NoError(t, err)
	require.Equal(t, hash, fileHash(t, filepath.Join(a.Dir(), "f.bin")))
	require.Contains(t, res.Holders, net.Node("b").URL())
	require.NotContains(t, res.Holders, net.Node("d").URL(), "every reply of d is cut")
}

// A file whose only holder speaks the book's methods comes as before, by
// query, and is reported not verified.
func TestDownloadFromBookNodeUnverified(t *testing.T) {
	net := peertest.Edges(t, "a-b", peertest.Book("b"))
	net.Node("b").Put("test.txt", "This is a test")
	a := net.Node("a")
	res, err := a.Peer().Download(fetchDeadline(t), "test.txt", a.Secret())
	require.NoError(t, err)
	require.Equal(t, peer.FetchedUnverified, res.Status)
	require.Equal(t, "not verified", strings.TrimPrefix(res.Status.String(), "fetched, "))
	got, _ := a.Read("test.txt")
	require.Equal(t, "This is a test", got)
}

// An empty file with a hash is fetched, and checked, with no ranged read.
func TestDownloadEmptyFile(t *testing.T) {
	net := peertest.Edges(t, "a-b")
	holders(t, net, "empty", 0, "b")
	a := net.Node("a")
	res, err := a.Peer().Download(fetchDeadline(t), "empty", a.Secret())
	require.NoError(t, err)
	require.Equal(t, peer.Fetched, res.Status)
	got, ok := a.Read("empty")
	require.True(t, ok)
	require.Empty(t, got)
}

// The size cap is kept from the holders' announced size, before anything
// is fetched.
func TestDownloadSizeCap(t *testing.T) {
	net := peertest.Edges(t, "a-b", peertest.Configure(func(c *peer.Config) { c.MaxFetchBytes = 1 << 20 }))
	holders(t, net, "f.bin", 2<<20, "b")
	a := net.Node("a")
	err := a.Fetch(fetchDeadline(t), "f.bin")
	require.ErrorIs(t, err, peer.ErrFetchTooLarge)
	require.Empty(t, a.Files())
	require.Zero(t, net.Trace().Bytes())
}

// listLiar is a hostile holder: it announces the hash of real contents,
// but serves other bytes with a piece list that matches them, so that
// every piece checks and only the whole can catch it.
type listLiar struct {
	url, hash string
	fake      []byte
	hops      int  // the distance its hits claim
	stall     bool // it answers filepeer.pieces only when the call ends

	mu    sync.Mutex
	calls map[string]int // per method
}

// called returns how many calls of method the liar has had.
func (l *listLiar) called(method string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[method]
}

func (l *listLiar) Query(context.Context, string, []string) (io.ReadCloser, error) {
	return nil, &peer.Fault{Code: peer.Unhandled, Message: "no"}
}
func (l *listLiar) Hello(context.Context, string) error         { return nil }
func (l *listLiar) Fetch(context.Context, string, string) error { return nil }

func (l *listLiar) Call(ctx context.Context, method string, args ...any) (any, error) {
	l.mu.Lock()
	if l.calls == nil {
		l.calls = make(map[string]int)
	}
	l.calls[method]++
	l.mu.Unlock()
	switch method {
	case "filepeer.search":
		return []any{map[string]any{"name": "f.bin", "size": int64(len(l.fake)), "hash": l.hash, "peer": l.url, "hops": int64(l.hops)}}, nil
	case "filepeer.pieces":
		if l.stall {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		var hashes []any
		for off := 0; off < len(l.fake); off += 1 << 20 {
			hashes = append(hashes, sha(string(l.fake[off:min(off+1<<20, len(l.fake))])))
		}
		return map[string]any{"size": int64(len(l.fake)), "hashes": hashes}, nil
	case "filepeer.range":
		off, ln := args[2].(int64), args[3].(int64)
		return io.NopCloser(strings.NewReader(string(l.fake[off : off+ln]))), nil
	}
	return nil, &peer.Fault{Code: 1, Message: "unknown"}
}

func (l *listLiar) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	v, err := l.Call(ctx, method, args...)
	if err != nil {
		return nil, err
	}
	return v.(io.ReadCloser), nil
}

// A piece list that lies is caught when the whole is checked: nothing is
// placed, the partial file goes, and the liar is not asked again.
func TestDownloadListLiarCaught(t *testing.T) {
	tr := transport.NewMemory()
	fake := []byte(strings.Repeat("not the film ", 250000)) // 3.25 MB
	liar := &listLiar{url: "mem://liar", hash: sha("the film"), fake: fake}
	l, err := tr.Listen(liar.url, liar)
	require.NoError(t, err)
	defer l.Close()
	n := startNode(t, tr, "mem://n")
	require.NoError(t, n.Hello(fetchDeadline(t), liar.url))
	_, err = n.Download(fetchDeadline(t), "f.bin", n.secret)
	require.ErrorIs(t, err, peer.ErrHashMismatch)
	require.Empty(t, n.files(t), "nothing placed, no partial file kept")
	_, err = n.Download(fetchDeadline(t), "f.bin", n.secret)
	require.ErrorIs(t, err, peer.ErrHashMismatch, "the liar is not asked again")
}

// A holder whose piece list lies beside an honest holder costs neither
// the fetch nor the honest holder: whichever list comes first, the other
// holder's bytes are held against its own list, the two disagree, and
// the whole's hash settles which lied. If the liar's list came first,
// the fetch starts again from the honest holder; if the honest one's
// did, the liar's pieces are set aside and the whole proves it wrong.
// Either way the file comes right in one Download, the liar is not asked
// again, and the honest holder still is.
func TestDownloadListLiarBesideHonestHolder(t *testing.T) {
	for _, liarFirst := range []bool{true, false} {
		t.Run(map[bool]string{true: "liar's list first", false: "honest list first"}[liarFirst], func(t *testing.T) {
			tr := transport.NewMemory()
			h := startNode(t, tr, "mem://h")
			want := putRandom(t, h.dir, "f.bin", 3<<20+5, 11)
			require.NoError(t, h.Index(context.Background()))
			real, err := os.ReadFile(filepath.Join(h.dir, "f.bin"))
			require.NoError(t, err)
			fake := bytes.Clone(real)
			for i := range fake {
				fake[i] ^= 0x5a
			}
			liar := &listLiar{url: "mem://liar", hash: want, fake: fake}
			n := startNode(t, tr, "mem://n")
			if liarFirst {
				// The honest holder is a hop further than the liar.
				x := startNode(t, tr, "mem://x")
				require.NoError(t, x.Hello(fetchDeadline(t), h.URL()))
				require.NoError(t, n.Hello(fetchDeadline(t), x.URL()))
			} else {
				liar.hops = 3
				require.NoError(t, n.Hello(fetchDeadline(t), h.URL()))
			}
			l, err := tr.Listen(liar.url, liar)
			require.NoError(t, err)
			defer l.Close()
			require.NoError(t, n.Hello(fetchDeadline(t), liar.url))

			res, err := n.Download(fetchDeadline(t), "f.bin", n.secret)
			require.NoError(t, err)
			require.Equal(t, []string{h.URL()}, res.Holders)
			require.Equal(t, want, fileHash(t, filepath.Join(n.dir, "f.bin")))
			require.Equal(t, []string{"f.bin"}, n.files(t), "no partial file left")
			if liarFirst {
				require.Equal(t, 1, liar.called("filepeer.pieces"), "its list was taken")
				require.Positive(t, liar.called("filepeer.range"), "its pieces matched its list")
			} else {
				require.Equal(t, 1, liar.called("filepeer.pieces"), "asked for its list when its piece failed")
				require.LessOrEqual(t, liar.called("filepeer.range"), 2, "set aside after its first bad piece")
			}

			// Again, into another name: the honest holder is asked, the
			// liar is not.
			require.NoError(t, os.Remove(filepath.Join(n.dir, "f.bin")))
			ranges := liar.called("filepeer.range")
			res, err = n.Download(fetchDeadline(t), "f.bin", n.secret)
			require.NoError(t, err)
			require.Equal(t, []string{h.URL()}, res.Holders)
			require.Equal(t, want, fileHash(t, filepath.Join(n.dir, "f.bin")))
			require.Equal(t, ranges, liar.called("filepeer.range"), "the liar is not asked again")
		})
	}
}

// A liar that sends bad pieces and never answers when asked for its own
// piece list holds up nothing: the question goes off the download's
// loop, the honest holder sends the rest, and once every piece is in the
// question is dropped.
func TestDownloadStalledLiarHoldsNothingUp(t *testing.T) {
	tr := transport.NewMemory()
	h := startNode(t, tr, "mem://h")
	want := putRandom(t, h.dir, "f.bin", 6<<20, 12)
	require.NoError(t, h.Index(context.Background()))
	fake := make([]byte, 6<<20)
	liar := &listLiar{url: "mem://liar", hash: want, fake: fake, hops: 3, stall: true}
	l, err := tr.Listen(liar.url, liar)
	require.NoError(t, err)
	defer l.Close()
	n := startNode(t, tr, "mem://n")
	require.NoError(t, n.Hello(fetchDeadline(t), h.URL()))
	require.NoError(t, n.Hello(fetchDeadline(t), liar.url))

	// The deadline only guards against a hang: asked in the loop, the
	// liar's silence would last until it.
	res, err := n.Download(fetchDeadline(t), "f.bin", n.secret)
	require.NoError(t, err)
	require.Equal(t, []string{h.URL()}, res.Holders)
	require.Equal(t, want, fileHash(t, filepath.Join(n.dir, "f.bin")))
	require.Equal(t, 1, liar.called("filepeer.pieces"), "asked for its list once")
	require.Positive(t, liar.called("filepeer.range"))
}

// stuckHolder is a holder of the contents whose pieces never come: every
// filepeer.range body waits until its call ends.
type stuckHolder struct{ *listLiar }

func (s stuckHolder) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	if method != "filepeer.range" {
		return s.listLiar.Open(ctx, method, args...)
	}
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()
	return io.NopCloser(waitReader{ctx}), nil
}

// waitReader's reads wait until ctx ends.
type waitReader struct{ ctx context.Context }

func (w waitReader) Read([]byte) (int, error) {
	<-w.ctx.Done()
	return 0, w.ctx.Err()
}

// Once no piece waits for a holder, the pieces a stuck holder has are
// taken from it and given to a holder left idle: the fetch ends, from the
// other holder, instead of waiting on the stuck one for as long as the
// fetch may take.
func TestDownloadOutrunsStuckHolder(t *testing.T) {
	tr := transport.NewMemory()
	h := startNode(t, tr, "mem://h")
	want := putRandom(t, h.dir, "f.bin", 6<<20, 13)
	require.NoError(t, h.Index(context.Background()))
	real, err := os.ReadFile(filepath.Join(h.dir, "f.bin"))
	require.NoError(t, err)
	stuck := stuckHolder{&listLiar{url: "mem://stuck", hash: want, fake: real, calls: map[string]int{}}}
	l, err := tr.Listen(stuck.url, stuck)
	require.NoError(t, err)
	defer l.Close()
	n := startNode(t, tr, "mem://n")
	require.NoError(t, n.Hello(fetchDeadline(t), stuck.url))
	require.NoError(t, n.Hello(fetchDeadline(t), h.URL()))

	// The deadline only guards against a hang: without the hand-over,
	// the fetch would wait on the stuck holder until it.
	res, err := n.Download(fetchDeadline(t), "f.bin", n.secret)
	require.NoError(t, err)
	require.Equal(t, []string{h.URL()}, res.Holders)
	require.Equal(t, want, fileHash(t, filepath.Join(n.dir, "f.bin")))
	require.Equal(t, 2, stuck.called("filepeer.range"), "given its first two pieces, then none")
}

// A holder found by search but not reachable directly (pieces need a
// connection of their own) sends the file by query, through the node
// between, and it is checked against the hash all the same: relayed
// bytes that were altered on the way are refused, nothing placed.
func TestDownloadThroughRelayChecked(t *testing.T) {
	for _, corrupt := range []bool{false, true} {
		net := peertest.Line(t, 3, peertest.Directed())
		hash := holders(t, net, "f.bin", 3<<20, "n2")
		net.FaultLink("n0", "n2", peertest.Refuse())
		if corrupt {
			net.FaultLink("n1", "n2", peertest.Corrupt().Only(peertest.MethodQuery))
		}
		a := net.Node("n0")
		res, err := a.Peer().Download(fetchDeadline(t), "f.bin", a.Secret())
		got := fileHash(t, filepath.Join(a.Dir(), "f.bin"))
		if corrupt {
			require.ErrorIs(t, err, peer.ErrHashMismatch)
			require.Empty(t, got, "nothing placed")
			continue
		}
		require.NoError(t, err)
		require.Equal(t, peer.Fetched, res.Status)
		require.Equal(t, hash, got)
		require.Equal(t, []string{"f.bin"}, a.Files())
	}
}
