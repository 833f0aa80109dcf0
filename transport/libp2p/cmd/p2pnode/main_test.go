package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

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
	a := start(t, 2, "-key", keyA, "-dir", filesA, "-listen", "libp2p:///ip4/127.0.0.1/tcp/0", "-http", "http://"+freePort(t))
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
