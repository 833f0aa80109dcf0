package peer_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// A node closed with PeersFile writes its peers; started again, it knows
// them without a hello. A missing or corrupt file is a warning and no
// peers, never a failed Start.
func TestPeersFile(t *testing.T) {
	mem := transport.NewMemory()
	b := startNode(t, mem, "mem://b")
	b.put(t, "song.ogg", "la la")
	file := filepath.Join(t.TempDir(), "peers")
	var logs bytes.Buffer
	withFile := func(c *peer.Config) {
		c.PeersFile = file
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	}

	a := startNode(t, mem, "mem://a", withFile)
	require.Contains(t, logs.String(), "no peers file yet")
	require.NoError(t, a.Hello(context.Background(), b.URL()))
	require.NoError(t, a.Close())
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, "# filepeer known peers, one URL a line\nmem://b\n", string(got))
	entries, _ := os.ReadDir(filepath.Dir(file))
	require.Len(t, entries, 1, "no temporary file left")

	a = startNode(t, mem, "mem://a", withFile)
	require.Equal(t, []string{b.URL()}, a.Known())
	content, err := a.Query(context.Background(), "song.ogg", nil)
	require.NoError(t, err)
	require.Equal(t, "la la", string(content))
	require.NoError(t, a.Close())

	for name, bad := range map[string]string{
		"no header": "mem://b\n",
		"not a URL": "# filepeer known peers, one URL a line\nmem://b\nhas space\n",
		"empty":     "",
		"binary":    "\x00\x01\x02",
		"too big":   "# filepeer known peers, one URL a line\n" + strings.Repeat("mem://"+strings.Repeat("x", 2000)+"\n", 40),
		"long line": "# filepeer known peers, one URL a line\n" + strings.Repeat("x", 1<<20),
		"two many":  "# filepeer known peers, one URL a line\n" + strings.Repeat("mem://b\nmem://c\n", 3),
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(file, []byte(bad), 0o644))
			logs.Reset()
			n := startNode(t, mem, "mem://c"+strings.ReplaceAll(name, " ", ""), withFile, func(c *peer.Config) { c.MaxKnown = 4 })
			require.Empty(t, n.Known())
			require.Contains(t, logs.String(), "corrupt peers file")
		})
	}
}

func TestPeersFileInsideDir(t *testing.T) {
	dir := t.TempDir()
	_, err := peer.New(peer.Config{URL: "mem://a", Dir: dir, Transport: transport.NewMemory(), PeersFile: filepath.Join(dir, "sub", "peers")})
	require.ErrorContains(t, err, "inside Dir")
	_, err = peer.New(peer.Config{URL: "mem://a", Dir: dir, Transport: transport.NewMemory(), TargetPeers: 2000})
	require.ErrorContains(t, err, "TargetPeers")
}
