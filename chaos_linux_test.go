package peer_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// chaosNet is a line of three network namespaces of the test's own
// making, root — a — b — c, on addresses of a 10.N.0.0/16 that nothing
// else on the host uses (N picked among those free, so that two runs at
// once do not collide). Root and a are joined by a veth
// pair; a and b, and b and c, by emulated links (emuLink), which the test
// can make slow, lossy and reordering. The test process, in the root
// namespace, reaches only a; b and c are reached only by the nodes.
type chaosNet struct {
	t      *testing.T
	ip     string
	tag    string              // in every name, so that runs never collide
	prefix string              // "10.N.": the /16 of the run's addresses
	ns     map[string]string   // a, b, c → namespace name
	links  map[string]*emuLink // "ab", "bc"
}

func (c *chaosNet) run(args ...string) {
	c.t.Helper()
	out, err := exec.Command(c.ip, args...).CombinedOutput()
	require.NoError(c.t, err, "ip %s: %s", strings.Join(args, " "), out)
}

// in runs tool inside namespace ns.
func (c *chaosNet) in(ns, tool string, args ...string) error {
	out, err := exec.Command(c.ip, append([]string{"netns", "exec", c.ns[ns], tool}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s in %s: %v: %s", tool, strings.Join(args, " "), ns, err, out)
	}
	return nil
}

// addr is host on the run's subnet: 10.N.subnet.host.
func (c *chaosNet) addr(subnet, host int) string {
	return fmt.Sprintf("%s%d.%d", c.prefix, subnet, host)
}

// dev names the interface of the link between from and to, on from's side.
func (c *chaosNet) dev(from, to string) string { return "fp" + c.tag + from + to }

func newChaosNet(t *testing.T) *chaosNet {
	t.Helper()
	c := &chaosNet{t: t, ip: testenv.Tool(t, "ip"), ns: map[string]string{}, links: map[string]*emuLink{}}
	var b [3]byte
	rand.Read(b[:])
	c.tag = hex.EncodeToString(b[:])
	out, _ := exec.Command(c.ip, "-4", "addr").CombinedOutput()
	for i, start := 0, int(b[0]); c.prefix == "" && i < 50; i++ {
		if p := fmt.Sprintf("10.%d.", 150+(start+i)%50); !strings.Contains(string(out), p) {
			c.prefix = p
		}
	}
	if c.prefix == "" {
		t.Fatalf("10.150.0.0/16 to 10.199.0.0/16 are all in use on this host; the chaos test needs one to itself:\n%s", out)
	}
	for _, n := range []string{"a", "b", "c"} {
		c.ns[n] = "fpchaos-" + c.tag + "-" + n
		c.run("netns", "add", c.ns[n])
		t.Cleanup(func() { exec.Command(c.ip, "netns", "del", c.ns[n]).Run() })
		require.NoError(t, c.in(n, c.ip, "link", "set", "lo", "up"))
	}
	// root–a: a veth pair, on 10.N.0.0/30.
	c.run("link", "add", c.dev("r", "a"), "type", "veth", "peer", "name", c.dev("a", "r"))
	t.Cleanup(func() { exec.Command(c.ip, "link", "del", c.dev("r", "a")).Run() })
	c.run("addr", "add", c.addr(0, 1)+"/30", "dev", c.dev("r", "a"))
	c.run("link", "set", c.dev("r", "a"), "up")
	c.run("link", "set", c.dev("a", "r"), "netns", c.ns["a"])
	require.NoError(t, c.in("a", c.ip, "addr", "add", c.addr(0, 2)+"/30", "dev", c.dev("a", "r")))
	require.NoError(t, c.in("a", c.ip, "link", "set", c.dev("a", "r"), "up"))
	// a–b on 10.N.1.0/30 and b–c on 10.N.2.0/30: emulated links.
	for _, l := range []struct {
		from, to string
		subnet   int
	}{{"a", "b", 1}, {"b", "c", 2}} {
		link, err := newEmuLink(c.dev(l.from, l.to), c.dev(l.to, l.from))
		require.NoError(t, err)
		t.Cleanup(func() { link.Close() })
		c.links[l.from+l.to] = link
		for i, side := range [][2]string{{l.from, l.to}, {l.to, l.from}} {
			dev := c.dev(side[0], side[1])
			c.run("link", "set", dev, "netns", c.ns[side[0]])
			addr := c.addr(l.subnet, i+1) + "/30"
			require.NoError(t, c.in(side[0], c.ip, "addr", "add", addr, "dev", dev))
			require.NoError(t, c.in(side[0], c.ip, "link", "set", dev, "up"))
		}
	}
	return c
}

// impair makes the link between from and to slow, lossy and reordering,
// in both directions.
func (c *chaosNet) impair(from, to string) { c.links[from+to].impair() }

// cut takes the link between from and to down (true) or up (false).
func (c *chaosNet) cut(from, to string, down bool) {
	c.t.Helper()
	state := "up"
	if down {
		state = "down"
	}
	require.NoError(c.t, c.in(from, c.ip, "link", "set", c.dev(from, to), state))
}

// chaosNode is an examples/node process in a namespace.
type chaosNode struct {
	url, dir string
	cmd      *exec.Cmd
}

func (c *chaosNet) startNode(bin, ns, url, secret string) *chaosNode {
	c.t.Helper()
	n := &chaosNode{url: url, dir: c.t.TempDir()}
	n.cmd = exec.Command(c.ip, "netns", "exec", c.ns[ns], bin, url, n.dir)
	n.cmd.Env = append(os.Environ(), "FILEPEER_SECRET="+secret)
	n.cmd.Stderr = os.Stderr
	require.NoError(c.t, n.cmd.Start())
	c.t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGTERM)
		n.cmd.Wait()
	})
	return n
}

func (n *chaosNode) fds() int {
	es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", n.cmd.Process.Pid))
	return len(es)
}

// pyHelloIn has the node at url, in ns, say hello to other: only a
// process in a namespace next to it can reach it.
func (c *chaosNet) pyHelloIn(py, ns, url, other string) {
	c.t.Helper()
	require.NoError(c.t, c.in(ns, py, "-c",
		"import sys, xmlrpc.client as x; assert x.ServerProxy(sys.argv[1]).hello(sys.argv[2]) == 0", url, other))
}

// waitIn waits until something in ns accepts on addr.
func (c *chaosNet) waitIn(py, ns, addr string) {
	c.t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	script := "import socket, sys, time\nfor _ in range(200):\n try:\n  socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close(); sys.exit(0)\n except OSError: time.sleep(0.05)\nsys.exit(1)"
	require.NoError(c.t, c.in(ns, py, "-c", script, host, port))
}

// TestChaosNetns runs examples/node processes in three network namespaces
// in a line, a — b — c, with c holding the files and the test calling a,
// and checks that queries and fetches either succeed with the right bytes
// or fail with a clear error, with no file lost or half-written and no
// descriptor leaked: over links that delay packets by 20 ms, drop 1% of
// them and send 10% ahead of the others (emuLink), with the b — c link cut in
// mid-transfer, and with a partition healed later. It needs root, ip(8)
// and TUN devices; it skips without root, except in CI, where .ci/run
// installs iproute2 and runs as root.
func TestChaosNetns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts network namespaces and moves 64 MiB; not in -short")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the chaos test needs root, which CI has")
		}
		t.Skip("the chaos test needs root, for network namespaces")
	}
	py := python3(t)
	cn := newChaosNet(t)
	defer func() {
		for name, l := range cn.links {
			t.Logf("link %s: %v", name, l)
		}
	}()
	bin := testenv.Build(t, "./examples/node")
	start := time.Now()
	phase := func(what string) { t.Logf("%5.1fs %s", time.Since(start).Seconds(), what) }
	const secret = "chaos secret"
	a := cn.startNode(bin, "a", "http://"+cn.addr(0, 2)+":4242", secret)
	b := cn.startNode(bin, "b", "http://"+cn.addr(1, 2)+":4242", "b secret")
	c := cn.startNode(bin, "c", "http://"+cn.addr(2, 2)+":4242", "c secret")
	small := []byte("across two hops\n")
	require.NoError(t, os.WriteFile(filepath.Join(c.dir, "small.txt"), small, 0o644))
	bigSum := writeRandomFile(t, filepath.Join(c.dir, "big.bin"), 8<<20)
	cutSum := writeRandomFile(t, filepath.Join(c.dir, "cut.bin"), 24<<20)

	testenv.WaitListening(t, cn.addr(0, 2)+":4242", 10*time.Second)
	cn.waitIn(py, "a", cn.addr(1, 2)+":4242")
	cn.waitIn(py, "b", cn.addr(2, 2)+":4242")
	tr := xmlrpc.New(xmlrpc.Config{CallTimeout: 3 * time.Minute})
	defer tr.Close()
	pa, err := tr.Dial(a.url)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	require.NoError(t, pa.Hello(ctx, b.url))
	cn.pyHelloIn(py, "a", b.url, c.url)

	query := func(name string) ([]byte, error) {
		body, err := pa.Query(ctx, name, nil)
		if err != nil {
			return nil, err
		}
		defer body.Close()
		return io.ReadAll(body)
	}
	got, err := query("small.txt")
	require.NoError(t, err)
	require.Equal(t, small, got)
	fdsBefore := map[string]int{"a": a.fds(), "b": b.fds(), "c": c.fds()}

	// Slow, impaired links: everything arrives whole.
	cn.impair("a", "b")
	cn.impair("b", "c")
	for range 3 {
		got, err := query("small.txt")
		require.NoError(t, err)
		require.Equal(t, small, got)
	}
	_, err = query("nowhere.txt")
	require.ErrorIs(t, err, peer.ErrUnhandled)
	require.NoError(t, pa.Fetch(ctx, "big.bin", secret))
	require.Equal(t, bigSum, hashFile(t, filepath.Join(a.dir, "big.bin")))
	phase("over impaired links: queries and an 8 MiB fetch whole")
	for name, l := range cn.links {
		require.Positive(t, l.dropped.Load(), "link %s dropped nothing: %v", name, l)
		require.Positive(t, l.reordered.Load(), "link %s reordered nothing: %v", name, l)
	}

	// The b — c link cut in mid-transfer: the fetch fails with an error
	// (b's read from c stalls, b cuts its reply to a), and a holds
	// neither the file nor a temporary file.
	fetchErr := make(chan error, 1)
	go func() { fetchErr <- pa.Fetch(ctx, "cut.bin", secret) }()
	waitForTemp(t, a.dir)
	cn.cut("b", "c", true)
	err = <-fetchErr
	require.Error(t, err)
	t.Logf("fetch cut in mid-transfer: %v", err)
	require.NoFileExists(t, filepath.Join(a.dir, "cut.bin"))
	requireNoTemp(t, a.dir)
	phase("a fetch cut in mid-transfer: an error, nothing left behind")

	// The partition heals; b forgot c when it failed, so c is introduced
	// again, as a program would; then the fetch succeeds whole.
	cn.cut("b", "c", false)
	cn.pyHelloIn(py, "a", b.url, c.url)
	require.NoError(t, pa.Fetch(ctx, "cut.bin", secret))
	require.Equal(t, cutSum, hashFile(t, filepath.Join(a.dir, "cut.bin")))
	phase("the partition healed: the 24 MiB fetch whole")

	// A partition between a and b: a's call fails with a clear error,
	// the files a has stay whole, and after healing a answers again.
	cn.cut("a", "b", true)
	_, err = query("nowhere-else.txt")
	require.Error(t, err)
	cn.cut("a", "b", false)
	got, err = query("big.bin")
	require.NoError(t, err)
	require.Len(t, got, 8<<20)
	require.Equal(t, bigSum, hashFile(t, filepath.Join(a.dir, "big.bin")))
	phase("a partition between a and b: an error, then healed")

	// No node holds more descriptors than it did before the chaos, once
	// its connections have gone idle and been closed.
	tr.Close()
	deadline := time.Now().Add(3 * time.Minute)
	for name, n := range map[string]*chaosNode{"a": a, "b": b, "c": c} {
		for n.fds() > fdsBefore[name]+4 && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
		}
		require.LessOrEqual(t, n.fds(), fdsBefore[name]+4, "node %s holds descriptors it no longer needs", name)
	}
	phase("no descriptor held once connections went idle")
}

// waitForTemp waits until a fetch has begun writing a temporary file in
// dir.
func waitForTemp(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		es, _ := os.ReadDir(dir)
		for _, e := range es {
			if strings.HasPrefix(e.Name(), ".") {
				if fi, err := e.Info(); err == nil && fi.Size() > 1<<20 {
					return
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the fetch never began writing")
}

func requireNoTemp(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range es {
		require.False(t, strings.HasPrefix(e.Name(), "."), "left behind: %s", e.Name())
	}
}
