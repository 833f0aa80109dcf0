package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/examples/internal/cli"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startPeer starts a node at url on tr sharing a new directory that holds
// files, and closes it when the test ends.
func startPeer(t *testing.T, tr transport.Transport, url string, files map[string]string) *peer.Node {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	n, err := peer.New(peer.Config{URL: url, Dir: dir, Secret: "peer secret", Transport: tr})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	require.NoError(t, n.Start())
	return n
}

// writeURLFile writes a URL file in the book's format, with the comments
// and blank lines the client skips.
func writeURLFile(t *testing.T, urls ...string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "urls.txt")
	content := "# peers of the test\n\n" + strings.Join(urls, "\n") + "\n   \n"
	require.NoError(t, os.WriteFile(name, []byte(content), 0o644))
	return name
}

// runClient runs the client on tr with the commands of input, and returns
// its output.
func runClient(t *testing.T, tr transport.Transport, args []string, input string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, args, env{stdin: strings.NewReader(input), stdout: &out, stderr: &errOut, transport: tr})
	require.NoError(t, err, "stderr: %s", errOut.String())
	return out.String()
}

func TestWalkthrough(t *testing.T) {
	mem := transport.NewMemory()
	startPeer(t, mem, "mem://b", map[string]string{"test.txt": "This is a test\n", "my notes.txt": "spaces\n"})
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("0123456789"), 0o644))

	out := runClient(t, mem, []string{writeURLFile(t, "mem://b", "mem://down"), dir, "mem://a"}, strings.Join([]string{
		"fetch fooo",
		"fetch test.txt",
		"fetch   my notes.txt  ",
		"fetch test.txt",
		"fetch ../etc/passwd",
		"query mine.txt",
		"query test.txt",
		"query nothing",
		"list",
		"known",
		"fetch",
		"frobnicate",
		"help",
		"exit",
		"list", // never read: exit came first
	}, "\n")+"\n")

	require.Contains(t, out, "Peer mem://b is up.\n")
	require.Contains(t, out, "Peer mem://down is unreachable for now")
	require.Contains(t, out, "> Couldn't find the file fooo\n")
	require.Contains(t, out, "> Fetched test.txt.\n")
	require.Contains(t, out, "> Fetched my notes.txt.\n")
	require.Contains(t, out, "> You have test.txt already.\n")
	require.Contains(t, out, `> Access denied: "../etc/passwd" would lead out of`)
	require.Contains(t, out, "> mine.txt is here, in "+dir+": 10 bytes.\n")
	require.Contains(t, out, "> test.txt is here") // fetched, so now local
	require.Contains(t, out, "> Couldn't find the file nothing\n")
	require.Contains(t, out, "> mine.txt\nmy notes.txt\ntest.txt\n> ")
	// The failed broadcast for fooo made the node forget the dead peer.
	require.Contains(t, out, "> mem://b\n> ")
	require.Contains(t, out, "> usage: fetch NAME\n")
	require.Contains(t, out, `> Unknown command "frobnicate"`)
	require.Contains(t, out, "hello URL")
	require.True(t, strings.HasSuffix(out, "> "), "exit leaves at once: %q", out)
	require.Equal(t, 1, strings.Count(out, "mine.txt\nmy notes.txt"), "nothing after exit was run")

	got, err := os.ReadFile(filepath.Join(dir, "test.txt"))
	require.NoError(t, err)
	require.Equal(t, "This is a test\n", string(got))
	got, err = os.ReadFile(filepath.Join(dir, "my notes.txt"))
	require.NoError(t, err)
	require.Equal(t, "spaces\n", string(got))
}

func TestQueryFromNetwork(t *testing.T) {
	mem := transport.NewMemory()
	startPeer(t, mem, "mem://b", map[string]string{"big.bin": strings.Repeat("x", 20_000)})
	out := runClient(t, mem, []string{writeURLFile(t), t.TempDir(), "mem://a"},
		"query big.bin\nhello mem://b\nquery big.bin\nlist\nknown\nhello not a url\n")
	require.Contains(t, out, "> Couldn't find the file big.bin\n")
	require.Contains(t, out, "> Peer mem://b is up.\n")
	require.Contains(t, out, "> big.bin is on the network: 19.5 KiB (20000 bytes).\n")
	require.Contains(t, out, "> No files in ")
	require.Contains(t, out, "> mem://b\n")
	require.Contains(t, out, `> hello not a url: peer: hello: invalid peer URL "not a url"`)
	require.True(t, strings.HasSuffix(out, "> \n"), "end of input ends the client on a new line: %q", out)
}

func TestBadArguments(t *testing.T) {
	urls := writeURLFile(t)
	for name, args := range map[string][]string{
		"none":         nil,
		"two":          {urls, t.TempDir()},
		"four":         {urls, t.TempDir(), "mem://a", "extra"},
		"unknown flag": {"-x", urls, t.TempDir(), "mem://a"},
	} {
		t.Run(name, func(t *testing.T) {
			var errOut bytes.Buffer
			err := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errOut})
			require.ErrorIs(t, err, cli.ErrUsage)
			require.Equal(t, 2, cli.ExitCode("client", err, io.Discard))
			require.Contains(t, errOut.String(), "usage: client [-v] [-secret-file FILE] URLFILE DIR URL")
		})
	}
	for name, args := range map[string][]string{
		"missing URL file": {filepath.Join(t.TempDir(), "nope.txt"), t.TempDir(), "mem://a"},
		"missing dir":      {urls, filepath.Join(t.TempDir(), "nope"), "mem://a"},
	} {
		t.Run(name, func(t *testing.T) {
			err := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, transport: transport.NewMemory()})
			require.Error(t, err)
			require.NotErrorIs(t, err, cli.ErrUsage)
			var errOut bytes.Buffer
			require.Equal(t, 1, cli.ExitCode("client", err, &errOut))
			require.Contains(t, errOut.String(), "client: ")
			require.Contains(t, errOut.String(), "nope")
		})
	}
}

// TestInterrupt: a signal (the context) ends the client even while it waits
// for a line that never comes.
func TestInterrupt(t *testing.T) {
	stdin, feed := io.Pipe()
	defer feed.Close() // ends the read the client left behind
	ctx, cancel := context.WithCancel(context.Background())
	prompted := make(chan struct{})
	out := writerFunc(func(p []byte) (int, error) {
		if bytes.Contains(p, []byte("> ")) {
			select {
			case <-prompted:
			default:
				close(prompted)
			}
		}
		return len(p), nil
	})
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{writeURLFile(t), t.TempDir(), "mem://a"},
			env{stdin: stdin, stdout: out, stderr: io.Discard, transport: transport.NewMemory()})
	}()
	select {
	case <-prompted:
	case <-time.After(10 * time.Second):
		t.Fatal("no prompt")
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not stop")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// freeURL returns the URL of a loopback port that was free a moment ago.
func freeURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return "http://" + l.Addr().String()
}

// TestBinary runs the real program over HTTP: the book's walkthrough typed
// into a pipe.
func TestBinary(t *testing.T) {
	bin := testenv.Build(t, ".")

	tr := transport.NewXMLRPC(transport.XMLRPCConfig{})
	defer tr.Close()
	b := startPeer(t, tr, freeURL(t), map[string]string{"test.txt": "This is a test\n"})
	dead := freeURL(t)
	dir := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, writeURLFile(t, b.URL(), dead), dir, freeURL(t))
	cmd.Stdin = strings.NewReader("fetch fooo\nfetch test.txt\nexit\n")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Run(), "stderr: %s", errOut.String())

	require.Contains(t, out.String(), "Peer "+b.URL()+" is up.\n")
	require.Contains(t, out.String(), "Peer "+dead+" is unreachable for now")
	require.Contains(t, out.String(), "> Couldn't find the file fooo\n> Fetched test.txt.\n> ")
	got, err := os.ReadFile(filepath.Join(dir, "test.txt"))
	require.NoError(t, err)
	require.Equal(t, "This is a test\n", string(got))

	// Bad arguments: the usage, and exit status 2.
	cmd = exec.CommandContext(ctx, bin, "only-one")
	errOut.Reset()
	cmd.Stderr = &errOut
	var exit *exec.ExitError
	require.True(t, errors.As(cmd.Run(), &exit))
	require.Equal(t, 2, exit.ExitCode())
	require.Contains(t, errOut.String(), "usage: client")
}

// TestSecretFromEnv checks that $FILEPEER_SECRET gives the client's node
// its secret, in place of a random one, and that -h says so.
func TestSecretFromEnv(t *testing.T) {
	mem := transport.NewMemory()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("mine"), 0o644))
	getenv := func(k string) string {
		if k == cli.SecretEnv {
			return "shared secret"
		}
		return ""
	}
	in, stdin := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{writeURLFile(t), dir, "mem://a"},
			env{stdin: in, stdout: io.Discard, stderr: io.Discard, transport: mem, getenv: getenv})
	}()
	ctx := context.Background()
	require.Eventually(t, func() bool {
		p, err := mem.Dial("mem://a")
		return err == nil && p.Fetch(ctx, "mine.txt", "shared secret") == nil
	}, 10*time.Second, 10*time.Millisecond)
	p, err := mem.Dial("mem://a")
	require.NoError(t, err)
	require.ErrorIs(t, p.Fetch(ctx, "mine.txt", "wrong"), peer.ErrAccessDenied)
	stdin.Close()
	require.NoError(t, <-done)

	var help bytes.Buffer
	require.ErrorIs(t, run(ctx, []string{"-h"}, env{stderr: &help}), flag.ErrHelp)
	require.Contains(t, help.String(), "$"+cli.SecretEnv)
}
