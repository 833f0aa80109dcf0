package peer_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// testNode is a started node on an in-memory network, with what a test
// needs to know of it.
type testNode struct {
	*peer.Node
	dir    string
	secret string
}

// startNode starts a node at url on tr, with its own temporary directory,
// closed when the test ends.
func startNode(t testing.TB, tr transport.Transport, url string, mods ...func(*peer.Config)) *testNode {
	t.Helper()
	cfg := peer.Config{URL: url, Dir: t.TempDir(), Secret: "secret of " + url, Transport: tr}
	for _, m := range mods {
		m(&cfg)
	}
	n, err := peer.New(cfg)
	require.NoError(t, err)
	require.NoError(t, n.Start())
	t.Cleanup(func() { n.Close() })
	return &testNode{Node: n, dir: cfg.Dir, secret: cfg.Secret}
}

// line starts nodes mem://n0 … mem://n{k-1}, each knowing the next.
func line(t testing.TB, tr transport.Transport, k int, mods ...func(*peer.Config)) []*testNode {
	t.Helper()
	nodes := make([]*testNode, k)
	for i := range nodes {
		nodes[i] = startNode(t, tr, "mem://n"+string(rune('0'+i)), mods...)
	}
	for i := 0; i+1 < k; i++ {
		require.NoError(t, nodes[i].Hello(context.Background(), nodes[i+1].URL()))
	}
	return nodes
}

func (n *testNode) put(t testing.TB, name, content string) {
	t.Helper()
	p := filepath.Join(n.dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

// files lists every entry under n.dir, temporary files included.
func (n *testNode) files(t testing.TB) []string {
	t.Helper()
	var names []string
	require.NoError(t, filepath.WalkDir(n.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != n.dir {
			rel, _ := filepath.Rel(n.dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return err
	}))
	return names
}

// fakePeer is a peer whose answers a test scripts.
type fakePeer struct {
	query func(ctx context.Context, name string, history []string) (io.ReadCloser, error)
	calls atomic.Int32
}

func (f *fakePeer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	f.calls.Add(1)
	return f.query(ctx, name, history)
}

func (f *fakePeer) Hello(ctx context.Context, url string) error { return nil }

func (f *fakePeer) Fetch(ctx context.Context, name, secret string) error {
	return errors.New("fake peers fetch nothing")
}

// listenFake serves a fake peer at url on mem.
func listenFake(t testing.TB, mem *transport.Memory, url string, query func(context.Context, string, []string) (io.ReadCloser, error)) *fakePeer {
	t.Helper()
	f := &fakePeer{query: query}
	l, err := mem.Listen(url, f)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return f
}

// failingReader yields some bytes, then an error, like a connection cut in
// the middle of a file.
type failingReader struct{ sent bool }

func (r *failingReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		return copy(p, strings.Repeat("partial ", 64)), nil
	}
	return 0, errors.New("connection reset in the middle of the file")
}

func (r *failingReader) Close() error { return nil }
