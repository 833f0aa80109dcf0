package peer_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// Start keeps the partial files of interrupted fetches younger than
// Config.PartialTTL, removes older ones, and sweeps temporary files;
// RemovePartials removes the rest on request. None is ever listed.
func TestPartialFilesKeptThenRemoved(t *testing.T) {
	dir := t.TempDir()
	young := filepath.Join(dir, ".filepeer-part-young")
	stale := filepath.Join(dir, ".filepeer-part-stale")
	tmp := filepath.Join(dir, ".filepeer-tmp-0123")
	for _, p := range []string{young, stale, tmp} {
		require.NoError(t, os.WriteFile(p, []byte("pieces"), 0o600))
	}
	long := time.Now().Add(-48 * time.Hour)
	require.NoError(t, os.Chtimes(stale, long, long))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kept.txt"), []byte("a file"), 0o644))

	n, err := peer.New(peer.Config{URL: "mem://n", Dir: dir, Transport: transport.NewMemory(), PartialTTL: 24 * time.Hour})
	require.NoError(t, err)
	defer n.Close()
	require.NoError(t, n.Start())
	require.FileExists(t, young)
	require.NoFileExists(t, stale)
	require.NoFileExists(t, tmp)
	names, err := n.List(fetchDeadline(t))
	require.NoError(t, err)
	require.Equal(t, []string{"kept.txt"}, names)

	removed, err := n.RemovePartials(fetchDeadline(t))
	require.NoError(t, err)
	require.Equal(t, 1, removed)
	require.NoFileExists(t, young)
	require.FileExists(t, filepath.Join(dir, "kept.txt"))
}

// A negative PartialTTL keeps every partial file at Start.
func TestPartialTTLNegativeKeeps(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".filepeer-part-stale")
	require.NoError(t, os.WriteFile(stale, []byte("pieces"), 0o600))
	long := time.Now().Add(-365 * 24 * time.Hour)
	require.NoError(t, os.Chtimes(stale, long, long))
	n, err := peer.New(peer.Config{URL: "mem://n", Dir: dir, Transport: transport.NewMemory(), PartialTTL: -1})
	require.NoError(t, err)
	defer n.Close()
	require.NoError(t, n.Start())
	require.FileExists(t, stale)
}
