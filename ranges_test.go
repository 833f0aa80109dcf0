package peer_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// rangeCaller starts a node holding f.bin (3 MiB) and returns a client of
// it, with the file's path and hash.
func rangeCaller(t *testing.T) (transport.Caller, string, string) {
	t.Helper()
	tr := transport.NewMemory()
	n := startNode(t, tr, "mem://holder")
	hash := putRandom(t, n.dir, "f.bin", 3<<20, 1)
	p, err := tr.Dial("mem://holder")
	require.NoError(t, err)
	return p.(transport.Caller), filepath.Join(n.dir, "f.bin"), hash
}

func readRange(ctx context.Context, c transport.Caller, args ...any) ([]byte, error) {
	body, err := c.Open(ctx, "filepeer.range", args...)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}

// filepeer.range serves part of a file by name and hash, and refuses
// anything else with the fault the protocol gives it.
func TestRangeServesOnlyThoseContents(t *testing.T) {
	c, path, hash := rangeCaller(t)
	ctx := fetchDeadline(t)
	whole, err := os.ReadFile(path)
	require.NoError(t, err)

	got, err := readRange(ctx, c, "f.bin", hash, int64(1000), int64(5000))
	require.NoError(t, err)
	require.Equal(t, whole[1000:6000], got)
	got, err = readRange(ctx, c, "f.bin", hash, int64(len(whole)), int64(0))
	require.NoError(t, err)
	require.Empty(t, got)

	other := "0000000000000000000000000000000000000000000000000000000000000000"
	_, err = readRange(ctx, c, "f.bin", other, int64(0), int64(10))
	require.ErrorIs(t, err, peer.ErrUnhandled, "other contents")
	_, err = readRange(ctx, c, "nope.bin", hash, int64(0), int64(10))
	require.ErrorIs(t, err, peer.ErrUnhandled)
	_, err = readRange(ctx, c, "../f.bin", hash, int64(0), int64(10))
	require.ErrorIs(t, err, peer.ErrAccessDenied)
	_, err = readRange(ctx, c, ".filepeer-part-"+hash, hash, int64(0), int64(10))
	require.ErrorIs(t, err, peer.ErrAccessDenied, "a partial file is no name")

	for _, args := range [][]any{
		{"f.bin", hash, int64(-1), int64(10)},
		{"f.bin", hash, int64(0), int64(len(whole) + 1)},
		{"f.bin", hash, int64(len(whole) + 1), int64(0)},
		{"f.bin", "ABC", int64(0), int64(10)},
		{"f.bin", hash, "0", int64(10)},
		{"f.bin", hash, int64(0)},
	} {
		_, err := readRange(ctx, c, args...)
		var f *peer.Fault
		require.True(t, errors.As(err, &f), "%v: %v", args, err)
		require.Equal(t, 1, f.Code, "%v", args)
	}

	// Changed contents are other contents: refused, never served.
	require.NoError(t, os.WriteFile(path, []byte("new contents"), 0o644))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(path, old, old))
	_, err = readRange(ctx, c, "f.bin", hash, int64(0), int64(10))
	require.ErrorIs(t, err, peer.ErrUnhandled)
}

// filepeer.pieces lists the hashes of a file's pieces, for a file of
// those contents only.
func TestPiecesList(t *testing.T) {
	c, path, hash := rangeCaller(t)
	ctx := fetchDeadline(t)
	v, err := c.Call(ctx, "filepeer.pieces", "f.bin", hash)
	require.NoError(t, err)
	m := v.(map[string]any)
	require.Equal(t, int64(3<<20), m["size"])
	hashes := m["hashes"].([]any)
	require.Len(t, hashes, 3)
	whole, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, sha(string(whole[1<<20:2<<20])), hashes[1])

	_, err = c.Call(ctx, "filepeer.pieces", "f.bin", sha("other"))
	require.ErrorIs(t, err, peer.ErrUnhandled)
	_, err = c.Call(ctx, "filepeer.pieces", "f.bin")
	var f *peer.Fault
	require.ErrorAs(t, err, &f)
	require.Equal(t, 1, f.Code)

	v, err = c.Call(ctx, "filepeer.info")
	require.NoError(t, err)
	require.Subset(t, v.(map[string]any)["methods"], []any{"filepeer.pieces", "filepeer.range"})
}
