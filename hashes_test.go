package peer

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
)

func hashNode(t testing.TB) (*Node, string) {
	t.Helper()
	dir := t.TempDir()
	n, err := New(Config{URL: "mem://h", Dir: dir, Transport: transport.NewMemory()})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	return n, dir
}

func writeOld(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(p, old, old))
}

// A file is hashed once per version: a second search of an unchanged Dir
// reads no file, and a file that changes is read again.
func TestHashedOncePerVersion(t *testing.T) {
	n, dir := hashNode(t)
	writeOld(t, dir, "a.txt", []byte("a"))
	writeOld(t, dir, "b.txt", []byte("b"))
	ctx := context.Background()
	require.NoError(t, n.Index(ctx))
	require.EqualValues(t, 2, n.hashes.reads.Load())
	for range 3 {
		hits, err := n.Search(ctx, "txt")
		require.NoError(t, err)
		require.Len(t, hits, 2)
		require.NotEmpty(t, hits[0].Hash)
		require.NoError(t, n.Index(ctx))
	}
	require.EqualValues(t, 2, n.hashes.reads.Load(), "an unchanged Dir is not read again")

	writeOld(t, dir, "a.txt", []byte("A, changed"))
	hits, err := n.Search(ctx, "a.txt")
	require.NoError(t, err)
	require.Equal(t, []Hit{{Name: "a.txt", Size: 10, Hash: "", Peer: "mem://h"}}, hits, "not hashed yet: no hash, not the old one")
	require.NoError(t, n.hashes.work.wait(ctx))
	require.EqualValues(t, 3, n.hashes.reads.Load(), "the search had the changed file hashed in the background")
	hits, err = n.Search(ctx, "a.txt")
	require.NoError(t, err)
	require.Equal(t, "9060afcda80ed947522b362f2759f1db9bfa79343100ec585682418bd3c7caf9", hits[0].Hash)

	require.NoError(t, os.Remove(filepath.Join(dir, "b.txt")))
	_, err = n.Search(ctx, "txt")
	require.NoError(t, err)
	n.hashes.mu.Lock()
	_, kept := n.hashes.byName["b.txt"]
	n.hashes.mu.Unlock()
	require.False(t, kept, "a file gone is forgotten")
}

// A file written a moment ago is not hashed: within a clock tick a second
// write could leave its stamp as it is, and the hash stale.
func TestUnsettledFileNotHashed(t *testing.T) {
	n, dir := hashNode(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new.txt"), []byte("new"), 0o644))
	require.NoError(t, n.Index(context.Background()))
	require.Zero(t, n.hashes.reads.Load())
	hits, err := n.Search(context.Background(), "new")
	require.NoError(t, err)
	require.Equal(t, "", hits[0].Hash)
}

// BenchmarkHash hashes a 256 MiB file as a node does (Index, from a cold
// start each time) and as sha256sum does, side by side:
//
//	go test -run NONE -bench Hash -benchtime 5x .
func BenchmarkHash(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 256<<20)
	rand.Read(data)
	writeOld(b, dir, "big.bin", data)
	b.Run("impl=filepeer", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			n, err := New(Config{URL: "mem://h", Dir: dir, Transport: transport.NewMemory()})
			require.NoError(b, err)
			require.NoError(b, n.Index(context.Background()))
			require.EqualValues(b, 1, n.hashes.reads.Load())
			n.Close()
		}
	})
	b.Run("impl=sha256sum", func(b *testing.B) {
		tool := testenv.Tool(b, "sha256sum")
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			out, err := exec.Command(tool, filepath.Join(dir, "big.bin")).Output()
			require.NoError(b, err)
			require.True(b, bytes.Contains(out, []byte("big.bin")))
		}
	})
}
