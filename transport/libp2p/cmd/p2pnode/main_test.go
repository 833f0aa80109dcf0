package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport/xmlrpc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs the program until the test ends and returns the lines it
// printed first: its URLs.
func start(t *testing.T, lines int, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, func(string) string { return "s3cret" })
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		go io.Copy(io.Discard, pr)
		require.NoError(t, <-done)
	})
	sc := bufio.NewScanner(pr)
	var got []string
	for len(got) < lines && sc.Scan() {
		got = append(got, sc.Text())
	}
	require.Len(t, got, lines, "the program printed its URLs")
	return got
}

func TestTwoNodesJoinAndKeepIDs(t *testing.T) {
	dir := t.TempDir()
	keyA := filepath.Join(dir, "a.key")
	filesA, filesB := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(filesA, "a.txt"), []byte("from a"), 0o644))
	a := start(t, 2, "-key", keyA, "-dir", filesA, "-listen", "libp2p:///ip4/127.0.0.1/tcp/0", "-http", "http://"+testenv.FreeAddr(t))
	aP2P := strings.TrimPrefix(a[0], "libp2p: ")
	start(t, 1, "-key", filepath.Join(dir, "b.key"), "-dir", filesB, "-listen", "libp2p:///ip4/127.0.0.1/tcp/0", "-join", aP2P)
	b, err := os.ReadFile(keyA)
	require.NoError(t, err)
	require.NotEmpty(t, b)
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-key", "k"},
		{"-dir", "d"},
		{"-key", filepath.Join(t.TempDir(), "k"), "-dir", t.TempDir(), "-listen", "libp2p:///ip4/0.0.0.0/tcp/0"},
		{"-key", filepath.Join(t.TempDir(), "k"), "-dir", t.TempDir(), "extra"},
	} {
		err := run(context.Background(), args, io.Discard, func(string) string { return "" })
		require.Error(t, err, args)
	}
}

// With -dht, a node joined by the DHT fetches contents by their hash
// for a client: the file comes under its holder's name.
func TestDHTFetchByHash(t *testing.T) {
	dir := t.TempDir()
	filesA, filesB := t.TempDir(), t.TempDir()
	body := []byte("contents found by their hash")
	p := filepath.Join(filesB, "found.txt")
	require.NoError(t, os.WriteFile(p, body, 0o644))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(p, old, old))
	httpA := "http://" + testenv.FreeAddr(t)
	a := start(t, 2, "-key", filepath.Join(dir, "a.key"), "-dir", filesA, "-dht", "-listen", "libp2p:///ip4/127.0.0.1/tcp/0", "-http", httpA)
	aP2P := strings.TrimPrefix(a[0], "libp2p: ")
	start(t, 1, "-key", filepath.Join(dir, "b.key"), "-dir", filesB, "-dht", "-listen", "libp2p:///ip4/127.0.0.1/tcp/0", "-join", aP2P)

	sum := sha256.Sum256(body)
	xr := xmlrpc.New(xmlrpc.Config{})
	defer xr.Close()
	c, err := xr.Dial(httpA)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// b hashes its file and announces the hash in the background after
	// it starts, and a admits b once b has answered a probe: until both
	// have happened, the contents cannot be found (fault 100), and
	// nothing is left in a's directory.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.Fetch(ctx, "sha256:"+hex.EncodeToString(sum[:]), "s3cret")
		if err == nil {
			break
		}
		require.ErrorIs(t, err, peer.ErrUnhandled)
		require.True(t, time.Now().Before(deadline), "the contents were never found: %v", err)
		entries, rerr := os.ReadDir(filesA)
		require.NoError(t, rerr)
		require.Empty(t, entries, "a failed fetch left something behind")
		time.Sleep(100 * time.Millisecond)
	}
	got, err := os.ReadFile(filepath.Join(filesA, "found.txt"))
	require.NoError(t, err)
	require.Equal(t, body, got)
}
