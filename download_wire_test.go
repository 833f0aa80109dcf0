package peer_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// limitedTransport serves nodes whose replies of file contents leave at
// most rate bytes a second, all calls of the node together: a holder on a
// slow link.
type limitedTransport struct {
	transport.Transport
	rate int
}

func (t limitedTransport) Listen(url string, p transport.Peer) (io.Closer, error) {
	return t.Transport.Listen(url, &limitedPeer{p: p, lim: rate.NewLimiter(rate.Limit(t.rate), 64<<10)})
}

// limitedPeer is a served node whose file contents go through lim.
type limitedPeer struct {
	p   transport.Peer
	lim *rate.Limiter
}

func (l *limitedPeer) Context() context.Context {
	if c, ok := l.p.(transport.Contexter); ok {
		return c.Context()
	}
	return context.Background()
}

func (l *limitedPeer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	body, err := l.p.Query(ctx, name, history)
	if err != nil {
		return nil, err
	}
	return &limitedBody{ReadCloser: body, ctx: ctx, lim: l.lim}, nil
}

func (l *limitedPeer) Hello(ctx context.Context, url string) error { return l.p.Hello(ctx, url) }

func (l *limitedPeer) Fetch(ctx context.Context, name, secret string) error {
	return l.p.Fetch(ctx, name, secret)
}

func (l *limitedPeer) List(ctx context.Context) ([]string, error) {
	return l.p.(transport.Lister).List(ctx)
}

func (l *limitedPeer) Call(ctx context.Context, method string, args ...any) (any, error) {
	v, err := l.p.(transport.Caller).Call(ctx, method, args...)
	if body, ok := v.(io.ReadCloser); ok && err == nil {
		return &limitedBody{ReadCloser: body, ctx: ctx, lim: l.lim}, nil
	}
	return v, err
}

func (l *limitedPeer) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	return l.p.(transport.Caller).Open(ctx, method, args...)
}

// limitedBody is a reply's file contents, read no faster than lim.
type limitedBody struct {
	io.ReadCloser
	ctx context.Context
	lim *rate.Limiter
}

func (b *limitedBody) Read(p []byte) (int, error) {
	p = p[:min(len(p), b.lim.Burst())]
	k, err := b.ReadCloser.Read(p)
	if k > 0 {
		if werr := b.lim.WaitN(b.ctx, k); werr != nil {
			return k, werr
		}
	}
	return k, err
}

// The helper process's roles, chosen by FILEPEER_HELPER: a holder serves
// a directory over a rate-limited link; a getter downloads a file from
// given holders and reports its progress and result on standard output.
func TestDownloadHelperProcess(t *testing.T) {
	role := os.Getenv("FILEPEER_HELPER")
	if role == "" {
		t.Skip("a helper process of TestDownloadFromFourRateLimitedHolders")
	}
	os.Exit(runHelper(role))
}

func runHelper(role string) int {
	dir := os.Getenv("FILEPEER_DIR")
	tr := xmlrpc.New(xmlrpc.Config{CallTimeout: -1})
	defer tr.Close()
	var tport transport.Transport = tr
	if role == "holder" {
		r, _ := strconv.Atoi(os.Getenv("FILEPEER_RATE"))
		tport = limitedTransport{Transport: tr, rate: r}
	}
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...); out.Flush() }
	size, _ := strconv.ParseInt(os.Getenv("FILEPEER_SIZE"), 10, 64)
	next := int64(0)
	var logger *slog.Logger
	if os.Getenv("FILEPEER_HELPER_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	n, err := peer.New(peer.Config{
		URL: "http://127.0.0.1:0", Dir: dir, Secret: "s", Transport: tport, Logger: logger,
		PingInterval: -1, TargetPeers: -1, LeaveTimeout: -1, DiskReserve: -1,
		FetchProgress: func(p peer.FetchProgress) {
			if p.Bytes >= next {
				say("progress %d %d", p.Bytes, p.Holders)
				next = p.Bytes + size/20
			}
		},
	})
	if err != nil {
		say("error %v", err)
		return 1
	}
	defer n.Close()
	if err := n.Start(); err != nil {
		say("error %v", err)
		return 1
	}
	ctx := context.Background()
	if role == "holder" {
		if err := n.Index(ctx); err != nil {
			say("error %v", err)
			return 1
		}
		say("ready %s", n.URL())
		io.Copy(io.Discard, os.Stdin) // until the test closes it, or kills the holder
		return 0
	}
	for _, u := range strings.Fields(os.Getenv("FILEPEER_PEERS")) {
		if err := n.Hello(ctx, u); err != nil {
			say("error %v", err)
			return 1
		}
	}
	start := time.Now()
	res, err := n.Download(ctx, "big.bin", "s")
	if err != nil {
		say("error %v", err)
		return 1
	}
	say("done %s %d %d %s", res.Status, len(res.Holders), res.Resumed, time.Since(start))
	return 0
}

// helper is a helper process of the test.
type helper struct {
	cmd   *exec.Cmd
	stdin io.Closer
	lines chan string
}

func startHelper(t *testing.T, role, dir string, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDownloadHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), append([]string{"FILEPEER_HELPER=" + role, "FILEPEER_DIR=" + dir}, env...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	h := &helper{cmd: cmd, stdin: stdin, lines: make(chan string, 100)}
	go func() {
		defer close(h.lines)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			h.lines <- s.Text()
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return h
}

// next returns the helper's next line, failing the test after timeout.
func (h *helper) next(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case line, ok := <-h.lines:
		require.True(t, ok, "the helper process ended")
		require.False(t, strings.HasPrefix(line, "error"), line)
		return line
	case <-time.After(timeout):
		t.Fatalf("no word from the helper process in %v", timeout)
		return ""
	}
}

// done reads the helper's lines until its result, calling each with the
// bytes of each progress line; it returns the result's fields.
func (h *helper) done(t *testing.T, timeout time.Duration, each func(bytes int64)) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		line := h.next(t, time.Until(deadline))
		f := strings.Fields(line)
		switch f[0] {
		case "progress":
			b, _ := strconv.ParseInt(f[1], 10, 64)
			if each != nil {
				each(b)
			}
		case "done":
			return f[1:]
		}
	}
}

// A large file on four holders, each behind a link limited to rate bytes
// a second, all of them separate processes on loopback: fetched from all
// four at once, one holder killed (SIGKILL) half way, and the fetch still
// completes, its bytes identical. Peak RSS of every process is logged,
// and asserted under 64 MiB in the harness (FILEPEER_BIG=1, a 1 GiB file,
// without the race detector): in the ordinary run, beside the rest of the
// suite on a loaded machine, a holder's heap was once seen to reach 112
// MiB before its collector ran. The rates are logged, and compared with
// a fetch from one holder alone, but not asserted: the machine is shared.
func TestDownloadFromFourRateLimitedHolders(t *testing.T) {
	size, rateLimit := int64(24<<20), 8<<20
	harness := os.Getenv("FILEPEER_BIG") == "1"
	if harness {
		size, rateLimit = 1<<30, 32<<20
	}
	const maxRSS = 64 << 20
	tmp := t.TempDir()
	var hash string
	holders := make([]*helper, 4)
	urls := make([]string, 4)
	env := []string{fmt.Sprint("FILEPEER_RATE=", rateLimit), fmt.Sprint("FILEPEER_SIZE=", size)}
	// One file, linked into each holder's directory, every link made
	// before any holder starts: a link changes the file's ctime, so its
	// stamp, which a holder that had hashed it would see as a new version.
	// A fifth holder, sixteen times slower, stands in for holder 3 in the
	// last fetch: the end of a fetch must not wait on it.
	dirs := make([]string, len(holders)+1)
	for i := range dirs {
		dirs[i] = filepath.Join(tmp, fmt.Sprint("holder", i))
		require.NoError(t, os.Mkdir(dirs[i], 0o755))
		if i == 0 {
			hash = putRandom(t, dirs[i], "big.bin", size, 42)
		} else {
			require.NoError(t, os.Link(filepath.Join(dirs[0], "big.bin"), filepath.Join(dirs[i], "big.bin")))
		}
	}
	for i := range holders {
		holders[i] = startHelper(t, "holder", dirs[i], env...)
	}
	slow := startHelper(t, "holder", dirs[len(holders)], fmt.Sprint("FILEPEER_RATE=", rateLimit/16), fmt.Sprint("FILEPEER_SIZE=", size))
	for i, h := range holders {
		urls[i] = strings.TrimPrefix(h.next(t, 5*time.Minute), "ready ")
	}
	slowURL := strings.TrimPrefix(slow.next(t, 5*time.Minute), "ready ")

	fetch := func(run string, peers []string, kill *helper) ([]string, time.Duration, int64) {
		dir := filepath.Join(tmp, "getter-"+run)
		require.NoError(t, os.Mkdir(dir, 0o755))
		g := startHelper(t, "getter", dir, append(env, "FILEPEER_PEERS="+strings.Join(peers, " "))...)
		start := time.Now()
		res := g.done(t, 20*time.Minute, func(b int64) {
			if kill != nil && b >= size/2 {
				kill.cmd.Process.Signal(syscall.SIGKILL)
				kill = nil
			}
		})
		elapsed := time.Since(start)
		require.Equal(t, hash, fileHash(t, filepath.Join(dir, "big.bin")))
		g.stdin.Close()
		require.NoError(t, g.cmd.Wait())
		rss := int64(g.cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) << 10
		return res, elapsed, rss
	}

	perLink := func(d time.Duration) float64 { return float64(size) / d.Seconds() / float64(rateLimit) }
	res, all, getterRSS := fetch("all", urls, nil)
	require.Equal(t, []string{"fetched", "4"}, res[:2])
	t.Logf("%d MiB from 4 holders at %d MiB/s each: %v, %.1f MiB/s, %.2fx one holder's link; getter peak RSS %.1f MiB",
		size>>20, rateLimit>>20, all.Round(time.Millisecond), float64(size)/all.Seconds()/(1<<20), perLink(all), float64(getterRSS)/(1<<20))

	res, killed, rss := fetch("killed", urls, holders[3])
	require.Equal(t, []string{"fetched"}, res[:1])
	getterRSS = max(getterRSS, rss)
	t.Logf("again, holder 3 killed half way: %v, %.1f MiB/s, %.2fx one holder's link; %s holders sent pieces; getter peak RSS %.1f MiB",
		killed.Round(time.Millisecond), float64(size)/killed.Seconds()/(1<<20), perLink(killed), res[1], float64(rss)/(1<<20))

	res, withSlow, _ := fetch("slow", append(slices.Clone(urls[:3]), slowURL), nil)
	require.Equal(t, []string{"fetched"}, res[:1])
	t.Logf("from 3 of them and one at %d KiB/s: %v, %.2fx the time from all 4; %s holders sent pieces",
		rateLimit/16>>10, withSlow.Round(time.Millisecond), withSlow.Seconds()/all.Seconds(), res[1])

	res, one, _ := fetch("one", urls[:1], nil)
	require.Equal(t, []string{"fetched", "1"}, res[:2])
	t.Logf("from 1 holder: %v, %.1f MiB/s (%.2fx its link); 4 holders were %.2fx as fast, %.2fx with one killed",
		one.Round(time.Millisecond), float64(size)/one.Seconds()/(1<<20), perLink(one), one.Seconds()/all.Seconds(), one.Seconds()/killed.Seconds())

	for i, h := range holders[:3] {
		rss := peakRSS(t, h.cmd.Process.Pid)
		t.Logf("holder %d peak RSS %.1f MiB", i, float64(rss)/(1<<20))
		if harness && !raceEnabled {
			require.Less(t, rss, int64(maxRSS))
		}
	}
	if harness && !raceEnabled {
		require.Less(t, getterRSS, int64(maxRSS))
	}
}
