package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/examples/internal/cli"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// shared returns a new directory holding files.
func shared(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	return dir
}

// freeURL returns the URL of a loopback port that was free a moment ago
// and has not been handed out before in this test process.
func freeURL(t *testing.T) string { return "http://" + testenv.FreeAddr(t) }

// serve runs the program in the background with args and e, and returns
// the node once it serves; the program is stopped when the test ends.
func serve(t *testing.T, args []string, e env) *peer.Node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *peer.Node, 1)
	e.started = func(n *peer.Node) { started <- n }
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, e) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("the node did not stop")
		}
	})
	select {
	case n := <-started:
		return n
	case err := <-done:
		t.Fatalf("the node did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the node did not start")
	}
	return nil
}

func TestServes(t *testing.T) {
	mem := transport.NewMemory()
	dir := shared(t, map[string]string{"test.txt": "This is a test\n"})
	serve(t, []string{"mem://node", dir, "s3cret"}, env{stderr: io.Discard, transport: mem})

	p, err := mem.Dial("mem://node")
	require.NoError(t, err)
	ctx := context.Background()
	body, err := p.Query(ctx, "test.txt", nil)
	require.NoError(t, err)
	got, err := io.ReadAll(body)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	require.Equal(t, "This is a test\n", string(got))
	_, err = p.Query(ctx, "fooo", nil)
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.ErrorIs(t, p.Fetch(ctx, "test.txt", "wrong"), peer.ErrAccessDenied)
}

func TestBadArguments(t *testing.T) {
	for name, args := range map[string][]string{
		"none":                nil,
		"two, no secret":      {"http://127.0.0.1:4242", t.TempDir()},
		"four":                {"http://127.0.0.1:4242", t.TempDir(), "s", "extra"},
		"unknown flag":        {"-x", "http://127.0.0.1:4242", t.TempDir(), "s"},
		"half flags":          {"-url", "http://127.0.0.1:4242", "-dir", t.TempDir()},
		"flags and arguments": {"-url", "http://127.0.0.1:4242", "-dir", t.TempDir(), "-secret", "s", "extra"},
		"bad URL":             {"http://127.0.0.1:4242 x", t.TempDir(), "s"},
	} {
		t.Run(name, func(t *testing.T) {
			var errOut bytes.Buffer
			err := run(context.Background(), args, env{stderr: &errOut, getenv: noEnv})
			require.ErrorIs(t, err, cli.ErrUsage)
			require.Equal(t, 2, cli.ExitCode("node", err, io.Discard))
			require.Contains(t, errOut.String(), "usage: node [-v] [-urls URLFILE] [-advertise URL] [-secret-file FILE] URL DIR [SECRET]")
		})
	}
	t.Run("missing dir", func(t *testing.T) {
		err := run(context.Background(), []string{"http://127.0.0.1:4242", filepath.Join(t.TempDir(), "nope"), "s"}, env{stderr: io.Discard})
		var errOut bytes.Buffer
		require.Equal(t, 1, cli.ExitCode("node", err, &errOut))
		require.Contains(t, errOut.String(), "node: peer: shared directory")
	})
	t.Run("port taken", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		err = run(context.Background(), []string{"http://" + l.Addr().String(), t.TempDir(), "s"}, env{stderr: io.Discard})
		var errOut bytes.Buffer
		require.Equal(t, 1, cli.ExitCode("node", err, &errOut))
		require.Contains(t, errOut.String(), "address already in use")
	})
}

// pythonScript plays the book's client against the node: argv is the
// node's URL, its secret and the URL of a second node holding other.txt.
const pythonScript = `
import sys
from xmlrpc.client import ServerProxy, Fault
url, secret, other = sys.argv[1:]
s = ServerProxy(url)

def fault(call, *args):
    try:
        call(*args)
    except Fault as f:
        return f.faultCode
    raise AssertionError("no fault")

assert s.query("test.txt") == "This is a test\n"
assert s.query("test.txt", []) == "This is a test\n"
assert fault(s.query, "fooo") == 100
assert fault(s.query, "../etc/passwd") == 200
assert fault(s.fetch, "other.txt", "wrong secret") == 200
assert s.hello(other) == 0
assert s.query("other.txt") == "found through hello\n"
assert s.fetch("other.txt", secret) == 0
print("python: all good")
`

// TestPython reaches the node, on the default transport, with Python's own
// xmlrpc.client, as the book's client.py does.
func TestPython(t *testing.T) {
	python := testenv.Tool(t, "python3")
	other, err := peer.New(peer.Config{URL: freeURL(t), Dir: shared(t, map[string]string{"other.txt": "found through hello\n"})})
	require.NoError(t, err)
	defer other.Close()
	require.NoError(t, other.Start())

	dir := shared(t, map[string]string{"test.txt": "This is a test\n"})
	n := serve(t, []string{freeURL(t), dir, "s3cret"}, env{stderr: io.Discard})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", pythonScript, n.URL(), "s3cret", other.URL()).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "python: all good\n", string(out))
	require.Equal(t, []string{other.URL()}, n.Known())
	got, err := os.ReadFile(filepath.Join(dir, "other.txt"))
	require.NoError(t, err)
	require.Equal(t, "found through hello\n", string(got))
}

// TestSignals runs the real program and stops it as a shell or a service
// manager would.
func TestSignals(t *testing.T) {
	bin := testenv.Build(t, ".")

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			url := freeURL(t)
			cmd := exec.CommandContext(ctx, bin, "-v", url, shared(t, nil), "s3cret")
			stderr, err := cmd.StderrPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())

			// The node logs "serving" once it listens.
			lines := bufio.NewScanner(stderr)
			var log strings.Builder
			for lines.Scan() {
				log.WriteString(lines.Text() + "\n")
				if strings.Contains(lines.Text(), "msg=serving") {
					break
				}
			}
			require.Contains(t, log.String(), "msg=serving", "the node did not start")
			tr := xmlrpc.New(xmlrpc.Config{})
			defer tr.Close()
			p, err := tr.Dial(url)
			require.NoError(t, err)
			_, err = p.Query(ctx, "fooo", nil)
			require.ErrorIs(t, err, peer.ErrUnhandled, "the node answers")

			require.NoError(t, cmd.Process.Signal(sig))
			rest, err := io.ReadAll(stderr)
			require.NoError(t, err)
			require.NoError(t, cmd.Wait(), "exit status 0 on %v", sig)
			require.Contains(t, string(rest), "msg=\"shutting down\"")
			_, err = p.Query(ctx, "fooo", nil)
			var fault *peer.Fault
			require.Error(t, err)
			require.False(t, errors.As(err, &fault), "no node answers any more: %v", err)
		})
	}
}

// TestUnspecified: a URL that means every interface is refused, saying
// why, unless -advertise names the URL to tell peers; no port is opened.
func TestUnspecified(t *testing.T) {
	for _, args := range [][]string{
		{"http://0.0.0.0:4260", t.TempDir(), "s"},
		{"http://[::]:4260", t.TempDir(), "s"},
		{"0.0.0.0:4260", t.TempDir(), "s"},
		{"-advertise", "http://0.0.0.0:4260", "http://0.0.0.0:4260", t.TempDir(), "s"},
	} {
		var errOut bytes.Buffer
		err := run(context.Background(), args, env{stderr: &errOut})
		require.ErrorIs(t, err, cli.ErrUsage, "%q", args)
		require.Regexp(t, `node: http://\S+ would listen on every interface|-advertise http://0.0.0.0:4260: peers cannot reach`, errOut.String(), "%q", args)
	}
	var errOut bytes.Buffer
	run(context.Background(), []string{"http://0.0.0.0:4260", t.TempDir(), "s"}, env{stderr: &errOut})
	require.Contains(t, errOut.String(), "node: http://0.0.0.0:4260 would listen on every interface and tell peers a URL none of them can reach;\n"+
		"serve at one address (http://127.0.0.1:4242, or this machine's), or add -advertise with the URL peers should use\n")
}

// TestAdvertise: with -advertise the node listens at URL and tells peers
// the other. (The test listens on loopback only: it shows that the two are
// kept apart, as they are for 0.0.0.0.)
func TestAdvertise(t *testing.T) {
	listen := freeURL(t)
	advertised := strings.Replace(listen, "127.0.0.1", "localhost", 1)
	var log syncBuffer
	n := serve(t, []string{"-advertise", advertised, listen, shared(t, map[string]string{"test.txt": "here\n"}), "s3cret"}, env{stderr: &log})
	require.Equal(t, advertised, n.URL())
	require.Contains(t, log.String(), "msg=serving node="+advertised)
	require.Contains(t, log.String(), "msg=listening url="+listen)

	tr := xmlrpc.New(xmlrpc.Config{})
	defer tr.Close()
	p, err := tr.Dial(listen)
	require.NoError(t, err)
	body, err := p.Query(context.Background(), "test.txt", nil)
	require.NoError(t, err)
	require.NoError(t, body.Close())
}

// TestNoScheme: 127.0.0.1:PORT and localhost:PORT are served as http://.
func TestNoScheme(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost"} {
		url := strings.Replace(freeURL(t), "127.0.0.1", host, 1)
		n := serve(t, []string{"-url", strings.TrimPrefix(url, "http://"), "-dir", shared(t, nil), "-secret", "s"}, env{stderr: io.Discard})
		require.Equal(t, url, n.URL())
	}
}

// TestVerbose: -v logs each call served, with its method, name, caller,
// outcome and time, and never the secret.
func TestVerbose(t *testing.T) {
	mem := transport.NewMemory()
	var log syncBuffer
	urls := filepath.Join(t.TempDir(), "urls.txt")
	require.NoError(t, os.WriteFile(urls, []byte("mem://friend\n"), 0o644))
	serve(t, []string{"-v", "-urls", urls, "mem://node", shared(t, map[string]string{"test.txt": "This is a test\n"}), "s3cret"},
		env{stderr: &log, transport: mem})
	p, err := mem.Dial("mem://node")
	require.NoError(t, err)
	ctx := context.Background()
	body, err := p.Query(ctx, "test.txt", nil)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	_, err = p.Query(ctx, "fooo", []string{"mem://x", "mem://other"})
	require.ErrorIs(t, err, peer.ErrUnhandled)
	_, err = p.(transport.Caller).Open(ctx, "filepeer.query", "fooo", []string{"mem://y"}, "id1")
	require.ErrorIs(t, err, peer.ErrUnhandled, "the extension is served through the log")
	require.ErrorIs(t, p.Fetch(ctx, "test.txt", "hunter2"), peer.ErrAccessDenied)
	require.NoError(t, p.Hello(ctx, "mem://newcomer"))

	var calls []string
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "msg=call") {
			_, rec, _ := strings.Cut(line, "msg=call ")
			calls = append(calls, regexp.MustCompile(`time=[0-9.]+[µnm]?s$`).ReplaceAllString(rec, "time=T"))
		}
	}
	require.Equal(t, []string{
		"method=query name=test.txt caller=client outcome=ok time=T",
		"method=query name=fooo caller=mem://other outcome=\"not found\" time=T",
		"method=filepeer.query name=fooo caller=mem://y outcome=\"not found\" time=T",
		"method=fetch name=test.txt caller=client outcome=\"access denied\" time=T",
		"method=hello caller=mem://newcomer outcome=ok time=T",
	}, calls, "%s", log.String())
	require.NotContains(t, log.String(), "hunter2")
	require.Contains(t, log.String(), "msg=hello node=mem://node peer=mem://friend", "the URL file's peers are greeted")
}

// TestHashesAtStart checks that the node hashes its directory as it
// starts, so that the first fetch of a file from it is checked against
// the file's hash: hashed only as searches came, the first would be
// "not verified".
func TestHashesAtStart(t *testing.T) {
	mem := transport.NewMemory()
	dir := shared(t, map[string]string{"report.txt": "figures\n"})
	hourAgo := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "report.txt"), hourAgo, hourAgo)) // settled
	var log syncBuffer
	serve(t, []string{"mem://node", dir, "s3cret"}, env{stderr: &log, transport: mem})
	require.Eventually(t, func() bool { return strings.Contains(log.String(), `msg="directory hashed"`) },
		10*time.Second, 10*time.Millisecond, "%s", log.String())

	getter, err := peer.New(peer.Config{URL: "mem://getter", Dir: t.TempDir(), Secret: "mine", Transport: mem})
	require.NoError(t, err)
	require.NoError(t, getter.Start())
	defer getter.Close()
	ctx := context.Background()
	require.NoError(t, getter.Hello(ctx, "mem://node"))
	res, err := getter.Download(ctx, "report.txt", "mine")
	require.NoError(t, err)
	require.Equal(t, peer.Fetched, res.Status, "the first fetch is checked against the hash")
}

// syncBuffer is a bytes.Buffer safe for the node's goroutines to log to.
type syncBuffer struct {
	mu sync.Mutex
	// guards b
	b bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

// TestSecretSources checks that the secret can come from $FILEPEER_SECRET
// or a file instead of the argument that every local user can read, and
// that -h says so.
func TestSecretSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(file, []byte("from the file\n"), 0o600))
	envSecret := func(k string) string {
		if k == cli.SecretEnv {
			return "from the env"
		}
		return ""
	}
	for name, c := range map[string]struct {
		args   []string
		getenv func(string) string
		secret string
	}{
		"file":     {[]string{"-secret-file", file, "mem://n", "DIR"}, noEnv, "from the file"},
		"env":      {[]string{"mem://n", "DIR"}, envSecret, "from the env"},
		"argument": {[]string{"mem://n", "DIR", "from the argument"}, noEnv, "from the argument"},
	} {
		t.Run(name, func(t *testing.T) {
			mem := transport.NewMemory()
			for i, a := range c.args {
				if a == "DIR" {
					c.args[i] = shared(t, map[string]string{"here.txt": "here\n"})
				}
			}
			serve(t, c.args, env{stderr: io.Discard, transport: mem, getenv: c.getenv})
			p, err := mem.Dial("mem://n")
			require.NoError(t, err)
			ctx := context.Background()
			require.ErrorIs(t, p.Fetch(ctx, "here.txt", "wrong"), peer.ErrAccessDenied)
			require.NoError(t, p.Fetch(ctx, "here.txt", c.secret))
		})
	}
	err := run(context.Background(), []string{"-secret-file", file, "mem://n", t.TempDir(), "arg"}, env{stderr: io.Discard, getenv: noEnv})
	require.ErrorContains(t, err, "more than one way")
	err = run(context.Background(), []string{"mem://n", t.TempDir(), "arg"}, env{stderr: io.Discard, getenv: envSecret})
	require.ErrorContains(t, err, "more than one way")

	var help bytes.Buffer
	require.ErrorIs(t, run(context.Background(), []string{"-h"}, env{stderr: &help, getenv: noEnv}), flag.ErrHelp)
	require.Contains(t, help.String(), "$"+cli.SecretEnv)
	require.Contains(t, help.String(), "-secret-file")
}
