package filestamp

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestStampTellsVersions checks that a rewrite of the same size, with the
// old modification time put back, still gives a new stamp, and that only a
// file left alone for Settle counts as settled.
func TestStampTellsVersions(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("stamps are made on Linux only")
	}
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, []byte("one"), 0o644))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.False(t, Settled(fi))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(path, old, old))
	fi, err = os.Stat(path)
	require.NoError(t, err)
	require.True(t, Settled(fi))
	first, ok := Of(fi)
	require.True(t, ok)
	again, _ := Of(fi)
	require.Equal(t, first, again)

	// The change time moves in clock ticks: wait one out.
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, os.WriteFile(path, []byte("two"), 0o644))
	require.NoError(t, os.Chtimes(path, old, old))
	fi, err = os.Stat(path)
	require.NoError(t, err)
	second, ok := Of(fi)
	require.True(t, ok)
	require.NotEqual(t, first, second)
}
