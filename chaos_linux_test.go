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
// making, root — a — b — c, joined by veth pairs on addresses of
// 10.213.0.0/16 that nothing else on the host uses (checked first). The
// test process, in the root namespace, reaches only a; b and c are
// reached only by the nodes.
type chaosNet struct {
	t      *testing.T
	ip, tc string
	ipt    string            // iptables, for loss where there is no netem
	tag    string            // in every name, so that runs never collide
	ns     map[string]string // a, b, c → namespace name
	netem  bool              // the kernel has sch_netem
}

func (c *chaosNet) run(args ...string) {
	c.t.Helper()
	out, err := exec.Command(c.ip, args...).CombinedOutput()
	require.NoError(c.t, err, "ip %s: %s", strings.Join(args, " "), out)
}

// in runs ip or tc inside namespace ns.
func (c *chaosNet) in(ns, tool string, args ...string) error {
	out, err := exec.Command(c.ip, append([]string{"netns", "exec", c.ns[ns], tool}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s in %s: %v: %s", tool, strings.Join(args, " "), ns, err, out)
	}
	return nil
}

// dev names an interface of the pair between from and to, on from's side.
func (c *chaosNet) dev(from, to string) string { return "fp" + c.tag + from + to }

func newChaosNet(t *testing.T) *chaosNet {
	t.Helper()
	c := &chaosNet{t: t, ip: testenv.Tool(t, "ip"), tc: testenv.Tool(t, "tc"), ipt: testenv.Tool(t, "iptables"), ns: map[string]string{}}
	var b [3]byte
	rand.Read(b[:])
	c.tag = hex.EncodeToString(b[:])
	if out, _ := exec.Command(c.ip, "-4", "addr").CombinedOutput(); strings.Contains(string(out), "10.213.") {
		t.Fatalf("10.213.0.0/16 is in use on this host; the chaos test needs it to itself:\n%s", out)
	}
	for _, n := range []string{"a", "b", "c"} {
		c.ns[n] = "fpchaos-" + c.tag + "-" + n
		c.run("netns", "add", c.ns[n])
		t.Cleanup(func() { exec.Command(c.ip, "netns", "del", c.ns[n]).Run() })
		require.NoError(t, c.in(n, c.ip, "link", "set", "lo", "up"))
	}
	// root–a, a–b, b–c: each a /30 of its own.
	links := []struct{ from, to, subnet string }{{"r", "a", "0"}, {"a", "b", "1"}, {"b", "c", "2"}}
	for _, l := range links {
		c.run("link", "add", c.dev(l.from, l.to), "type", "veth", "peer", "name", c.dev(l.to, l.from))
		if l.from == "r" {
			t.Cleanup(func() { exec.Command(c.ip, "link", "del", c.dev("r", "a")).Run() })
			c.run("addr", "add", "10.213.0.1/30", "dev", c.dev("r", "a"))
			c.run("link", "set", c.dev("r", "a"), "up")
		} else {
			c.run("link", "set", c.dev(l.from, l.to), "netns", c.ns[l.from])
			require.NoError(t, c.in(l.from, c.ip, "addr", "add", "10.213."+l.subnet+".1/30", "dev", c.dev(l.from, l.to)))
			require.NoError(t, c.in(l.from, c.ip, "link", "set", c.dev(l.from, l.to), "up"))
		}
		c.run("link", "set", c.dev(l.to, l.from), "netns", c.ns[l.to])
		require.NoError(t, c.in(l.to, c.ip, "addr", "add", "10.213."+l.subnet+".2/30", "dev", c.dev(l.to, l.from)))
		require.NoError(t, c.in(l.to, c.ip, "link", "set", c.dev(l.to, l.from), "up"))
	}
	// netem is a kernel module some kernels lack; tbf, always built in,
	// then stands in for it with a slow, queueing link, and iptables'
	// random drop for its loss (nothing stands in for reordering). The
	// test says which it had.
	c.netem = c.in("a", c.tc, "qdisc", "add", "dev", c.dev("a", "b"), "root", "netem", "delay", "1ms") == nil
	if c.netem {
		require.NoError(t, c.in("a", c.tc, "qdisc", "del", "dev", c.dev("a", "b"), "root"))
	}
	return c
}

// impair makes the link between ns and its peer through dev slow and, with
// netem, lossy and reordering, in both directions.
func (c *chaosNet) impair(from, to string) {
	c.t.Helper()
	for _, side := range [][2]string{{from, to}, {to, from}} {
		dev := c.dev(side[0], side[1])
		var err error
		if c.netem {
			err = c.in(side[0], c.tc, "qdisc", "replace", "dev", dev, "root", "netem",
				"delay", "20ms", "5ms", "loss", "2%", "reorder", "10%", "50%", "rate", "200mbit")
		} else {
			err = c.in(side[0], c.tc, "qdisc", "replace", "dev", dev, "root", "tbf",
				"rate", "100mbit", "burst", "64kb", "latency", "50ms")
			if err == nil {
				err = c.in(side[0], c.ipt, "-A", "INPUT", "-i", dev, "-m", "statistic",
					"--mode", "random", "--probability", "0.02", "-j", "DROP")
			}
		}
		require.NoError(c.t, err)
	}
}

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
// descriptor leaked: over slow and lossy (and, where the kernel has
// netem, reordering) links, with the b — c link cut in mid-transfer, and
// with a partition healed later. It needs root, ip(8), tc(8) and
// iptables(8); it skips without them, except in CI, where .ci/run
// installs iproute2 and iptables and runs as root.
func TestChaosNetns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts network namespaces and moves 96 MiB; not in -short")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the chaos test needs root, which CI has")
		}
		t.Skip("the chaos test needs root, for network namespaces")
	}
	py := python3(t)
	cn := newChaosNet(t)
	if cn.netem {
		t.Log("links: netem delay 20ms±5ms, loss 2%, reordering 10%")
	} else {
		t.Log("links: this kernel has no sch_netem; tbf (100 mbit/s, 50 ms queue) and iptables (2% of packets dropped at random) stand in, without reordering")
	}
	bin := testenv.Build(t, "./examples/node")
	const secret = "chaos secret"
	a := cn.startNode(bin, "a", "http://10.213.0.2:4242", secret)
	b := cn.startNode(bin, "b", "http://10.213.1.2:4242", "b secret")
	c := cn.startNode(bin, "c", "http://10.213.2.2:4242", "c secret")
	small := []byte("across two hops\n")
	require.NoError(t, os.WriteFile(filepath.Join(c.dir, "small.txt"), small, 0o644))
	bigSum := writeRandomFile(t, filepath.Join(c.dir, "big.bin"), 32<<20)
	cutSum := writeRandomFile(t, filepath.Join(c.dir, "cut.bin"), 64<<20)

	waitForPort(t, "10.213.0.2:4242")
	cn.waitIn(py, "a", "10.213.1.2:4242")
	cn.waitIn(py, "b", "10.213.2.2:4242")
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

	// The partition heals; b forgot c when it failed, so c is introduced
	// again, as a program would; then the fetch succeeds whole.
	cn.cut("b", "c", false)
	cn.pyHelloIn(py, "a", b.url, c.url)
	require.NoError(t, pa.Fetch(ctx, "cut.bin", secret))
	require.Equal(t, cutSum, hashFile(t, filepath.Join(a.dir, "cut.bin")))

	// A partition between a and b: a's call fails with a clear error,
	// the files a has stay whole, and after healing a answers again.
	cn.cut("a", "b", true)
	_, err = query("nowhere-else.txt")
	require.Error(t, err)
	cn.cut("a", "b", false)
	got, err = query("big.bin")
	require.NoError(t, err)
	require.Len(t, got, 32<<20)
	require.Equal(t, bigSum, hashFile(t, filepath.Join(a.dir, "big.bin")))

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
