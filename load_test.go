package peer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// The load harnesses drive examples/node processes with many clients and
// report what they measure (peak RSS, descriptors, latency percentiles);
// they assert only what must hold at any speed. They are figures, not
// tests, so they run only when asked:
//
//	FILEPEER_LOAD=1 go test -run TestLoad -v .            # 1,000 clients mixing calls
//	FILEPEER_LOAD=1 go test -run TestLoadStalled -v .     # 1,000 clients that never read
//
// FILEPEER_LOAD_SECONDS bounds the mixed run (default 20).
func loadHarness(t *testing.T) {
	if os.Getenv("FILEPEER_LOAD") == "" {
		t.Skip("a load harness: set FILEPEER_LOAD=1 to run it")
	}
}

// nodeProc is an examples/node process.
type nodeProc struct {
	url, dir string
	cmd      *exec.Cmd
}

func startNodeProc(t *testing.T, bin, secret string, files map[string][]byte) *nodeProc {
	t.Helper()
	p := &nodeProc{url: "http://" + testenv.FreeAddr(t), dir: t.TempDir()}
	for name, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(p.dir, name), b, 0o644))
	}
	p.cmd = exec.Command(bin, p.url, p.dir)
	p.cmd.Env = append(os.Environ(), "FILEPEER_SECRET="+secret)
	p.cmd.Stderr = io.Discard
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		p.cmd.Wait()
	})
	testenv.WaitListening(t, strings.TrimPrefix(p.url, "http://"), 10*time.Second)
	return p
}

// fds counts the process's open descriptors.
func (p *nodeProc) fds() int {
	es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
	return len(es)
}

// rss reads the process's resident memory now (VmRSS).
func (p *nodeProc) rss() int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// sampleFDs records a process's peak descriptors until stopped.
func sampleFDs(p *nodeProc) (stop func() int) {
	done := make(chan struct{})
	peak := make(chan int)
	go func() {
		peakFDs := 0
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			peakFDs = max(peakFDs, p.fds())
			select {
			case <-done:
				peak <- peakFDs
				return
			case <-tick.C:
			}
		}
	}()
	return func() int { close(done); return <-peak }
}

// clientFromAddr is a client transport whose connections come from the
// loopback address ip; its Close closes its connections.
func clientFromAddr(ip string) (*xmlrpc.Transport, func()) {
	rt := &http.Transport{
		DialContext:         (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		DisableCompression:  true,
	}
	tr := xmlrpc.New(xmlrpc.Config{RoundTripper: rt})
	return tr, func() { tr.Close(); rt.CloseIdleConnections() }
}

// loopbackAddr is the i-th of the loopback addresses the harness's
// clients come from: 127.0.1.1 on.
func loopbackAddr(i int) string { return fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250) }

// TestLoad runs 1,000 clients, from 100 loopback addresses (ten each, well
// under the 64 connections an address may have), against one node for a
// bounded time: queries of files it holds, misses it passes on to its one
// peer, and fetches from that peer with the secret. It reports latency
// percentiles a kind, errors, and the node's peak RSS and descriptors.
func TestLoad(t *testing.T) {
	loadHarness(t)
	const clients, addrs = 1000, 100
	seconds := 20
	if s, err := strconv.Atoi(os.Getenv("FILEPEER_LOAD_SECONDS")); err == nil && s > 0 {
		seconds = min(s, 600)
	}
	bin := testenv.Build(t, "./examples/node")
	const secret = "load secret"
	holderFiles := map[string][]byte{}
	for i := range 200 {
		holderFiles[fmt.Sprintf("f%03d.txt", i)] = bytes.Repeat([]byte{'a' + byte(i%26)}, 4<<10)
	}
	holder := startNodeProc(t, bin, "holder secret", holderFiles)
	node := startNodeProc(t, bin, secret, map[string][]byte{
		"small.txt":  []byte("a small file\n"),
		"medium.bin": bytes.Repeat([]byte{0, 1, 2, 3}, 64<<10), // 256 KiB of binary
	})
	setup, closeSetup := clientFromAddr("127.0.0.1")
	np, err := setup.Dial(node.url)
	require.NoError(t, err)
	require.NoError(t, np.Hello(context.Background(), holder.url))
	closeSetup()

	type sample struct {
		kind string
		d    time.Duration
		err  error
	}
	var (
		mu      sync.Mutex
		samples []sample
		wg      sync.WaitGroup
	)
	stopFDs := sampleFDs(node)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second)
	defer cancel()
	trs := make([]*xmlrpc.Transport, addrs)
	for i := range trs {
		var closeTr func()
		trs[i], closeTr = clientFromAddr(loopbackAddr(i))
		defer closeTr()
	}
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 12))
			p, err := trs[c%addrs].Dial(node.url)
			if err != nil {
				panic(err)
			}
			var mine []sample
			for i := 0; i < 100_000 && ctx.Err() == nil; i++ {
				var (
					kind string
					err  error
				)
				t0 := time.Now()
				switch r := rng.IntN(100); {
				case r < 45:
					kind = "query hit (13 B)"
					err = readAll(p.Query(ctx, "small.txt", nil))
				case r < 60:
					kind = "query hit (256 KiB)"
					err = readAll(p.Query(ctx, "medium.bin", nil))
				case r < 85:
					kind = "query miss (1 hop)"
					err = readAll(p.Query(ctx, fmt.Sprintf("missing-%d.txt", rng.IntN(1000)), nil))
					if errors.Is(err, peer.ErrUnhandled) {
						err = nil
					}
				default:
					kind = "fetch (4 KiB, 1 hop)"
					err = p.Fetch(ctx, fmt.Sprintf("f%03d.txt", rng.IntN(200)), secret)
				}
				if ctx.Err() != nil {
					break // cut by the harness's own deadline
				}
				mine = append(mine, sample{kind, time.Since(t0), err})
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	peakFDs := stopFDs()
	peak := peakRSS(t, node.cmd.Process.Pid)

	byKind := map[string][]time.Duration{}
	errs := map[string]int{}
	for _, s := range samples {
		byKind[s.kind] = append(byKind[s.kind], s.d)
		if s.err != nil {
			msg := s.err.Error()
			errs[s.kind+": "+msg[:min(len(msg), 120)]]++
		}
	}
	t.Logf("%d clients from %d addresses for %v: %d calls (%.0f/s); node peak RSS %.1f MiB, peak descriptors %d",
		clients, addrs, elapsed.Round(time.Millisecond), len(samples), float64(len(samples))/elapsed.Seconds(), float64(peak)/(1<<20), peakFDs)
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		ds := byKind[k]
		slices.Sort(ds)
		pct := func(p float64) time.Duration {
			return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(10 * time.Microsecond)
		}
		t.Logf("  %-22s n=%-7d p50 %-10v p90 %-10v p99 %-10v max %v", k, len(ds), pct(.5), pct(.9), pct(.99), ds[len(ds)-1].Round(time.Millisecond))
	}
	for e, n := range errs {
		t.Logf("  error ×%d: %s", n, e)
	}
	require.Empty(t, errs, "errors beyond the documented limits")
}

func readAll(body io.ReadCloser, err error) error {
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(io.Discard, body)
	return err
}

// TestLoadStalled is the first row as a harness: 1,000 clients,
// from 16 loopback addresses (the 64 connections an address may have
// would refuse most of them from one), ask for a 20 MB file and never
// read. It reports the node's peak RSS and descriptors while they hang
// on, and the descriptors once ReplyStallTimeout (30s) has cut them off,
// which must be back near where they started.
func TestLoadStalled(t *testing.T) {
	loadHarness(t)
	const clients, addrs = 1000, 16
	bin := testenv.Build(t, "./examples/node")
	node := startNodeProc(t, bin, "s", map[string][]byte{"big.txt": bytes.Repeat([]byte("twenty megabytes "), 20<<20/17)})
	idle, idleRSS := node.fds(), node.rss()
	stopFDs := sampleFDs(node)
	body := ("<?xml version='1.0'?>\n<methodCall>\n<methodName>query</methodName>\n<params>\n<param>\n<value><string>big.txt</string></value>\n</param>\n</params>\n</methodCall>\n")
	addr := strings.TrimPrefix(node.url, "http://")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	refused := 0
	for i := range clients {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(loopbackAddr(i % addrs))}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			refused++
			continue
		}
		// A tiny receive buffer, as a client that reads nothing
		// would leave: the node's replies back up at once.
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		fmt.Fprintf(c, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		conns = append(conns, c)
	}
	time.Sleep(5 * time.Second) // let every reply start and back up
	during, rss := node.fds(), node.rss()
	deadline := time.Now().Add(60 * time.Second)
	for node.fds() > idle+8 && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	after := node.fds()
	peakFDs := stopFDs()
	peak := peakRSS(t, node.cmd.Process.Pid)
	t.Logf("%d stalled clients (%d refused at connect): node RSS %.1f MiB while they hang on (peak %.1f MiB, %.0f KiB a reply over idle),"+
		" descriptors idle %d, during %d (peak %d), after the stall timeout %d",
		len(conns), refused, float64(rss)/(1<<20), float64(peak)/(1<<20), float64(rss-idleRSS)/float64(max(1, len(conns)))/1024, idle, during, peakFDs, after)
	require.LessOrEqual(t, after, idle+8, "descriptors of stalled replies were not released")
}
