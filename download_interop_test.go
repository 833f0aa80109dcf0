package peer_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
)

// With the book's Python node as the only holder, a Go node's fetch works
// as it always did, by query, and reports the file not verified: the
// book's node announces no hash. Its first filepeer.search is answered
// with a fault, which marks it a book node and costs nothing more.
func TestInteropDownloadFromPythonUnverified(t *testing.T) {
	py := python3(t)
	tr := interopTransport(t)
	ctx := context.Background()
	p, g := startPyNode(t, py), goNode(t, tr)
	require.NoError(t, g.Hello(ctx, p.url))
	big := bytes.Repeat(interopBinary, 300000) // 2.4 MB: more than a piece
	require.NoError(t, os.WriteFile(filepath.Join(p.dir, "big.bin"), big, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(p.dir, "text.txt"), interopText, 0o644))

	for name, want := range map[string][]byte{"big.bin": big, "text.txt": interopText} {
		res, err := g.Download(ctx, name, g.secret)
		require.NoError(t, err, name)
		require.Equal(t, peer.FetchedUnverified, res.Status, name)
		require.Equal(t, int64(len(want)), res.Size)
		got, err := os.ReadFile(filepath.Join(g.dir, name))
		require.NoError(t, err)
		require.Equal(t, want, got, name)
	}
	require.Equal(t, []string{p.url}, g.Known(), "the Python node is kept")
	res, err := g.Download(ctx, "text.txt", g.secret)
	require.NoError(t, err)
	require.Equal(t, peer.AlreadyHere, res.Status)
	_, err = g.Download(ctx, "nowhere.txt", g.secret)
	require.ErrorIs(t, err, peer.ErrUnhandled)
}
