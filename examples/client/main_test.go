package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
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

// startPeer starts a node at url on tr sharing a new directory that holds
// files, hashed so that the node vouches for them, and closes it when the
// test ends.
func startPeer(t *testing.T, tr transport.Transport, url string, files map[string]string) *peer.Node {
	t.Helper()
	dir := t.TempDir()
	// A node hashes only files left alone for a while: these are made
	// an hour old.
	old := time.Now().Add(-time.Hour)
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		require.NoError(t, os.Chtimes(p, old, old))
	}
	n, err := peer.New(peer.Config{URL: url, Dir: dir, Secret: "peer secret", Transport: tr})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	require.NoError(t, n.Start())
	require.NoError(t, n.Index(context.Background()))
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
// what it wrote to stdout and stderr, and its error.
func runClient(t *testing.T, tr transport.Transport, args []string, input string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err = run(ctx, args, env{stdin: strings.NewReader(input), stdout: &out, stderr: &errOut, transport: tr})
	return out.String(), errOut.String(), err
}

func TestWalkthrough(t *testing.T) {
	mem := transport.NewMemory()
	startPeer(t, mem, "mem://b", map[string]string{"test.txt": "This is a test\n", "my notes.txt": "spaces\n"})
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("0123456789"), 0o644))

	out, errOut, err := runClient(t, mem, []string{writeURLFile(t, "mem://b", "mem://down"), dir, "mem://a"}, strings.Join([]string{
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

	// Not a terminal: no prompts; results on stdout, in order, and each
	// failure on stderr.
	require.Equal(t, strings.Join([]string{
		"Fetched test.txt: 15 bytes, checked against its SHA-256, from 1 holder.",
		"Fetched my notes.txt: 7 bytes, checked against its SHA-256, from 1 holder.",
		"You have test.txt already.",
		"mine.txt is here, in " + dir + ": 10 bytes.",
		"test.txt is here, in " + dir + ": 15 bytes.", // fetched, so now here too
		"test.txt is at mem://b, 1 hop away: 15 bytes.",
		"mine.txt\nmy notes.txt\ntest.txt",
		"mem://b: answering", // the failed broadcast for fooo made the node forget the dead peer
	}, "\n")+"\n"+helpText, out)
	require.NotContains(t, out, "> ")
	require.Equal(t, strings.Join([]string{
		"Peer mem://b is up.",
		"Peer mem://down is unreachable for now: nothing is listening there",
		"Couldn't find the file fooo",
		`Access denied: "../etc/passwd" would lead out of ` + dir + ".",
		"Couldn't find the file nothing",
		"usage: fetch NAME",
		`Unknown command "frobnicate"; type help for the list.`,
	}, "\n")+"\n", errOut)
	require.Equal(t, failedError{failed: 5, ran: 13}, err)

	got, err := os.ReadFile(filepath.Join(dir, "test.txt"))
	require.NoError(t, err)
	require.Equal(t, "This is a test\n", string(got))
	got, err = os.ReadFile(filepath.Join(dir, "my notes.txt"))
	require.NoError(t, err)
	require.Equal(t, "spaces\n", string(got))
}

// TestScript: commands piped in that all succeed leave exit status 0 and
// nothing on stderr but the peers' state.
func TestScript(t *testing.T) {
	mem := transport.NewMemory()
	startPeer(t, mem, "mem://b", map[string]string{"test.txt": "This is a test\n"})
	out, errOut, err := runClient(t, mem, []string{writeURLFile(t, "mem://b"), t.TempDir(), "mem://a"}, "fetch test.txt\nlist\n")
	require.NoError(t, err)
	require.Equal(t, "Fetched test.txt: 15 bytes, checked against its SHA-256, from 1 holder.\ntest.txt\n", out)
	require.Equal(t, "Peer mem://b is up.\n", errOut)
}

func TestQueryFromNetwork(t *testing.T) {
	mem := transport.NewMemory()
	startPeer(t, mem, "mem://b", map[string]string{"big.bin": strings.Repeat("x", 20_000)})
	out, errOut, err := runClient(t, mem, []string{writeURLFile(t), t.TempDir(), "mem://a"},
		"query big.bin\nhello mem://b\nquery big.bin\nlist\nknown\nhello not a url\n")
	require.Equal(t, "Peer mem://b is up.\nbig.bin is at mem://b, 1 hop away: 19.5 KiB (20000 bytes).\nNo files in ", out[:strings.LastIndex(out, "No files in ")+len("No files in ")])
	require.True(t, strings.HasSuffix(out, "mem://b: answering\n"), "%q", out)
	require.Equal(t, "Couldn't find the file big.bin\nhello: \"not a url\" is not a node's URL; give one such as http://127.0.0.1:4242\n", errOut)
	require.EqualError(t, err, "2 of 6 commands failed")
}

// TestOneShot runs one command from the arguments, without reading stdin.
func TestOneShot(t *testing.T) {
	mem := transport.NewMemory()
	startPeer(t, mem, "mem://b", map[string]string{"my notes.txt": "spaces\n"})
	urls := writeURLFile(t, "mem://b")
	dir := t.TempDir()
	for _, tc := range []struct {
		args        []string
		out, errOut string
		exit        int
	}{
		{[]string{urls, dir, "mem://a", "fetch", "my", "notes.txt"}, "Fetched my notes.txt: 7 bytes, checked against its SHA-256, from 1 holder.\n", "", 0},
		{[]string{"-urls", urls, "-dir", dir, "-url", "mem://a", "list"}, "my notes.txt\n", "", 0},
		{[]string{"-dir", dir, "-url", "mem://a", "fetch nothing"}, "", "Couldn't find the file nothing\n", 1},
		{[]string{"-dir", dir, "-url", "mem://a", "hello", "mem://b"}, "Peer mem://b is up.\n", "", 0},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tc.args, env{stdin: iotest.ErrReader(errors.New("stdin read")), stdout: &out, stderr: &errOut, transport: mem})
		require.Equal(t, tc.out, out.String(), "%q", tc.args)
		require.Equal(t, tc.errOut, strings.TrimPrefix(errOut.String(), "Peer mem://b is up.\n"), "%q", tc.args)
		require.Equal(t, tc.exit, cli.ExitCode("client", err, io.Discard), "%q: %v", tc.args, err)
		if tc.exit == 1 {
			require.EqualError(t, err, "the command failed")
		}
	}
}

// TestURLs: URLs without a scheme are read as http://, and a wrong line of
// the URL file is named.
func TestURLs(t *testing.T) {
	mem := transport.NewMemory() // reaches http:// URLs with no socket
	startPeer(t, mem, "http://127.0.0.1:4242", nil)
	out, errOut, err := runClient(t, mem, []string{writeURLFile(t, "127.0.0.1:4242"), t.TempDir(), "localhost:4243"}, "known\n")
	require.NoError(t, err, errOut)
	require.Equal(t, "Peer http://127.0.0.1:4242 is up.\n", errOut)
	require.Equal(t, "http://127.0.0.1:4242: answering\n", out, "the client's probe of its peers at start is the node's own ping")

	bad := writeURLFile(t, "http://127.0.0.1:4242 http://127.0.0.1:4244", "http://127.0.0.1:4245")
	_, _, err = runClient(t, mem, []string{bad, t.TempDir(), "mem://a"}, "")
	var msg bytes.Buffer
	require.Equal(t, 1, cli.ExitCode("client", err, &msg))
	require.Equal(t, "client: URL file: "+bad+" line 3: 2 URLs on one line; write one URL a line\n", msg.String())
}

// gate is a peer that holds test.txt but answers a query for it only when
// its context ends, and says when the query has come.
type gate struct{ asked chan struct{} }

func (g gate) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	if name != "test.txt" {
		return nil, &peer.Fault{Code: peer.Unhandled, Message: "Couldn't handle the query"}
	}
	close(g.asked)
	<-ctx.Done()
	return nil, ctx.Err()
}

func (gate) Hello(context.Context, string) error { return nil }

func (gate) Fetch(context.Context, string, string) error {
	return &peer.Fault{Code: peer.AccessDenied, Message: "Access denied"}
}

// TestCtrlC: Ctrl-C stops the fetch that hangs and the client goes on to
// the next command.
func TestCtrlC(t *testing.T) {
	mem := transport.NewMemory()
	g := gate{asked: make(chan struct{})}
	l, err := mem.Listen("mem://b", g)
	require.NoError(t, err)
	defer l.Close()
	interrupt := make(chan os.Signal, 1)
	go func() {
		<-g.asked
		interrupt <- os.Interrupt
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	err = run(ctx, []string{writeURLFile(t, "mem://b"), dir, "mem://a"},
		env{stdin: strings.NewReader("fetch test.txt\nlist\n"), stdout: &out, stderr: &errOut, transport: mem, interrupt: interrupt})
	require.NoError(t, ctx.Err(), "the fetch was not interrupted")
	require.EqualError(t, err, "1 of 2 commands failed")
	require.Equal(t, "Peer mem://b is up.\nInterrupted: fetch test.txt\n", errOut.String())
	require.Equal(t, "No files in "+dir+".\n", out.String(), "the next command ran")
}

func TestBadArguments(t *testing.T) {
	urls := writeURLFile(t)
	for name, args := range map[string][]string{
		"none":         nil,
		"two":          {urls, t.TempDir()},
		"unknown flag": {"-x", urls, t.TempDir(), "mem://a"},
		"half flags":   {"-dir", t.TempDir(), "list"},
		"-urls alone":  {"-urls", urls, t.TempDir(), "mem://a"},
		"bad URL":      {urls, t.TempDir(), "http://a b"},
	} {
		t.Run(name, func(t *testing.T) {
			var errOut bytes.Buffer
			err := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errOut})
			require.ErrorIs(t, err, cli.ErrUsage)
			require.Equal(t, 2, cli.ExitCode("client", err, io.Discard))
			require.Contains(t, errOut.String(), "usage: client [-v] URLFILE DIR URL [COMMAND...]")
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
// for a line that never comes, and so does Ctrl-C when the input is not a
// terminal.
func TestInterrupt(t *testing.T) {
	for _, how := range []string{"SIGTERM", "Ctrl-C"} {
		t.Run(how, func(t *testing.T) {
			stdin, feed := io.Pipe()
			defer feed.Close() // ends the read the client left behind
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			interrupt := make(chan os.Signal, 1)
			// The second read is the client waiting for the line after
			// "list", the command over.
			waiting := make(chan struct{})
			reads := 0
			in := readerFunc(func(p []byte) (int, error) {
				if reads++; reads == 2 {
					close(waiting)
				}
				return stdin.Read(p)
			})
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{writeURLFile(t), t.TempDir(), "mem://a"},
					env{stdin: in, stdout: io.Discard, stderr: io.Discard, transport: transport.NewMemory(), interrupt: interrupt})
			}()
			go feed.Write([]byte("list\n"))
			select {
			case <-waiting:
			case <-time.After(10 * time.Second):
				t.Fatal("the client is not reading")
			}
			if how == "SIGTERM" {
				cancel()
			} else {
				interrupt <- os.Interrupt
			}
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("the client did not stop")
			}
		})
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// freeURL returns the URL of a loopback port that was free a moment ago
// and has not been handed out before in this test process.
func freeURL(t *testing.T) string { return "http://" + testenv.FreeAddr(t) }

// TestBinary runs the real program over HTTP: the book's walkthrough typed
// into a pipe.
func TestBinary(t *testing.T) {
	bin := testenv.Build(t, ".")

	tr := xmlrpc.New(xmlrpc.Config{})
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
	var exit *exec.ExitError
	require.ErrorAs(t, cmd.Run(), &exit)
	require.Equal(t, 1, exit.ExitCode(), "a command failed")

	require.Equal(t, "Fetched test.txt: 15 bytes, checked against its SHA-256, from 1 holder.\n", out.String())
	require.Equal(t, "Peer "+b.URL()+" is up.\n"+
		"Peer "+dead+" is unreachable for now: nothing is listening there\n"+
		"Couldn't find the file fooo\n"+
		"client: 1 of 2 commands failed\n", errOut.String())
	got, err := os.ReadFile(filepath.Join(dir, "test.txt"))
	require.NoError(t, err)
	require.Equal(t, "This is a test\n", string(got))

	// Bad arguments: the usage, and exit status 2.
	cmd = exec.CommandContext(ctx, bin, "only-one")
	errOut.Reset()
	cmd.Stderr = &errOut
	require.True(t, errors.As(cmd.Run(), &exit))
	require.Equal(t, 2, exit.ExitCode())
	require.Contains(t, errOut.String(), "usage: client")
}

// TestBinaryCtrlC sends the real program SIGINT while a fetch hangs: the
// fetch stops, the next command runs, and the exit status tells that a
// command failed.
func TestBinaryCtrlC(t *testing.T) {
	bin := testenv.Build(t, ".")
	g := gate{asked: make(chan struct{})}
	other := httptest.NewServer(xmlrpc.NewHandler(g))
	defer other.Close()
	dir := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, writeURLFile(t, other.URL), dir, freeURL(t))
	cmd.Stdin = strings.NewReader("fetch test.txt\nlist\n")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Start())
	select {
	case <-g.asked:
	case <-ctx.Done():
		t.Fatal("the fetch never reached the peer")
	}
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	var exit *exec.ExitError
	require.ErrorAs(t, cmd.Wait(), &exit)
	require.NoError(t, ctx.Err(), "the client hung")
	require.Equal(t, 1, exit.ExitCode())
	require.Equal(t, "No files in "+dir+".\n", out.String())
	require.Equal(t, "Peer "+other.URL+" is up.\nInterrupted: fetch test.txt\nclient: 1 of 2 commands failed\n", errOut.String())
}

// TestSearch: search lists the files of the network, numbered, nearest
// first; fetch N fetches one of them, and fetch -- N a file named N.
func TestSearch(t *testing.T) {
	mem := transport.NewMemory()
	b := startPeer(t, mem, "mem://b", map[string]string{"Report 2026.txt": "b's report", "report.txt": "r", "2": "two", "shared.txt": "b's copy"})
	startPeer(t, mem, "mem://c", map[string]string{"annual report.pdf": strings.Repeat("x", 20_000)})
	require.NoError(t, b.Hello(context.Background(), "mem://c"))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "my report.txt"), []byte("mine"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "shared.txt"), []byte("my copy"), 0o644))

	out, errOut, err := runClient(t, mem, []string{writeURLFile(t, "mem://b"), dir, "mem://a"}, strings.Join([]string{
		"search REPORT",
		"fetch 2",
		"fetch 1",
		"fetch 9",
		"fetch -- 2",
		"fetch 2", // still result 2
		"fetch --",
		"query annual report.pdf",
		"query shared.txt",
		"query report", // only longer names hold it
		"search nothing like it",
		"fetch 1",
		"search",
		"search " + strings.Repeat("w ", 17),
		"search sha256:xyz",
	}, "\n")+"\n")

	require.Equal(t, strings.Join([]string{
		"#  NAME               SIZE                    HOLDER   HOPS",
		"1  my report.txt      4 bytes                 (here)   0",
		"2  Report 2026.txt    10 bytes                mem://b  1",
		"3  report.txt         1 byte                  mem://b  1",
		"4  annual report.pdf  19.5 KiB (20000 bytes)  mem://c  2",
		"Fetched Report 2026.txt: 10 bytes, checked against its SHA-256, from 1 holder.",
		"You have my report.txt already.",
		"Fetched 2: 3 bytes, checked against its SHA-256, from 1 holder.",
		"You have Report 2026.txt already.",
		"annual report.pdf is at mem://c, 2 hops away: 19.5 KiB (20000 bytes).",
		"shared.txt is here, in " + dir + ": 7 bytes.",
		"shared.txt is at mem://b, 1 hop away: 8 bytes.",
		"No file matches nothing like it.",
	}, "\n")+"\n", out)
	require.Equal(t, strings.Join([]string{
		"Peer mem://b is up.",
		"Couldn't find the file 9 (the last search listed 4 results; fetch -- 9 fetches the file named 9)",
		"usage: fetch -- NAME",
		"Couldn't find the file report",
		"Couldn't find the file 1", // no results listed: no hint
		"usage: search WORDS",
		"Can't search for " + strings.Repeat("w ", 17)[:33] + ": more than 16 words.",
		`Can't search for sha256:xyz: "xyz" is not a hex SHA-256.`,
	}, "\n")+"\n", errOut)
	require.Equal(t, failedError{failed: 7, ran: 15}, err)

	for name, want := range map[string]string{"Report 2026.txt": "b's report", "2": "two"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, want, string(got))
	}
}

// book is a peer that speaks only the book's protocol: it cannot be
// searched, and holds old.txt.
type book struct{}

func (book) Query(_ context.Context, name string, _ []string) (io.ReadCloser, error) {
	if name != "old.txt" {
		return nil, &peer.Fault{Code: peer.Unhandled, Message: "Couldn't handle the query"}
	}
	return io.NopCloser(strings.NewReader("old\n")), nil
}

func (book) Hello(context.Context, string) error { return nil }

func (book) Fetch(context.Context, string, string) error {
	return &peer.Fault{Code: peer.AccessDenied, Message: "Access denied"}
}

// TestQueryBookNode: a search does not reach a book node, so query falls
// back on the book's query, which tells that the file is there but not
// where.
func TestQueryBookNode(t *testing.T) {
	mem := transport.NewMemory()
	l, err := mem.Listen("mem://old", book{})
	require.NoError(t, err)
	defer l.Close()
	out, errOut, err := runClient(t, mem, []string{writeURLFile(t, "mem://old"), t.TempDir(), "mem://a"},
		"search old\nquery old.txt\nquery sha256:"+strings.Repeat("0", 64)+"\n")
	require.Equal(t, "No file matches old.\nold.txt is on the network, on a node that cannot search: 4 bytes.\n", out)
	require.Equal(t, "Peer mem://old is up.\nCouldn't find the file sha256:"+strings.Repeat("0", 64)+"\n", errOut)
	require.EqualError(t, err, "1 of 3 commands failed")
}

// TestFetchOutcomes: fetch tells each of Download's outcomes apart: checked
// against the hash its holders announced (here from two holders at once),
// already here, or from a book node, which announces none.
func TestFetchOutcomes(t *testing.T) {
	mem := transport.NewMemory()
	// Three pieces: the first holder is asked for two, the second for
	// the third, so both send some.
	big := strings.Repeat("0123456789abcdef", 3<<20/16)
	b := startPeer(t, mem, "mem://b", map[string]string{"shared.bin": big})
	startPeer(t, mem, "mem://c", map[string]string{"shared.bin": big})
	require.NoError(t, b.Hello(context.Background(), "mem://c"))
	l, err := mem.Listen("mem://old", book{})
	require.NoError(t, err)
	defer l.Close()
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))

	out, errOut, err := runClient(t, mem, []string{writeURLFile(t, "mem://b", "mem://old"), dir, "mem://a"},
		"fetch shared.bin\nfetch shared.bin\nfetch old.txt\nfetch old.txt\nfetch sub\n")
	require.Equal(t, strings.Join([]string{
		"Fetched shared.bin: 3.0 MiB (3145728 bytes), checked against its SHA-256, from 2 holders.",
		"You have shared.bin already.",
		"Fetched old.txt from a node that cannot vouch for it (not verified).",
		"You have old.txt already.",
	}, "\n")+"\n", out)
	require.Equal(t, "Peer mem://b is up.\nPeer mem://old is up.\n"+
		"Can't fetch sub: "+dir+" holds a directory of that name.\n", errOut)
	require.EqualError(t, err, "1 of 5 commands failed")
	for name, want := range map[string]string{"shared.bin": big, "old.txt": "old\n"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, want, string(got), name)
	}
}

// TestFetchOutcomeWords: the outcomes that an in-memory network does not
// make on its own, in words.
func TestFetchOutcomeWords(t *testing.T) {
	for want, res := range map[string]peer.FetchResult{
		"Fetched a.bin: 19.5 KiB (20000 bytes), checked against its SHA-256, passed on by the nodes between.": {
			Name: "a.bin", Status: peer.Fetched, Size: 20_000},
		"Fetched a.bin: 19.5 KiB (20000 bytes), checked against its SHA-256, from 1 holder, 100 bytes of it kept from an interrupted fetch.": {
			Name: "a.bin", Status: peer.Fetched, Size: 20_000, Holders: []string{"mem://b"}, Resumed: 100},
		"Fetched a.bin: FetchStatus(9).": {Name: "a.bin", Status: 9},
	} {
		require.Equal(t, want, fetchOutcome(res))
	}
}
