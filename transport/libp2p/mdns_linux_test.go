package libp2p_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	lpeer "github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
	p2p "github.com/filepeer/peer/transport/libp2p"
)

// The mDNS test runs its hosts in two network namespaces of its own, a and
// b, joined by a veth pair on 10.217.0.0/30 and nothing else: the
// multicast it sends cannot leave them. In a, cmd/p2pnode runs with -mdns;
// in b, this test binary again, as TestLocalDiscoveryHelper, on the
// package's API. Each finds the other, and b queries and fetches a's file
// at the URL it found.
const (
	mdnsNet   = "10.217.0.0/30"
	mdnsAddrA = "10.217.0.1"
	mdnsAddrB = "10.217.0.2"
	// helperEnv, set, makes TestLocalDiscoveryHelper run: its value is
	// the URL to listen at.
	helperEnv = "FILEPEER_MDNS_HELPER"
	// The helper's prefix on the lines the parent reads.
	helperSays = "mdns-helper: "
	// mdnsGuard bounds the whole exchange, against a hang: finding by
	// mDNS takes seconds.
	mdnsGuard = 3 * time.Minute
)

// TestLocalDiscoveryNetns shows that two hosts on a network find each
// other by mDNS (Config.LocalDiscovery, and p2pnode's -mdns), that the
// URL found works for a query and a fetch, bytes identical, and that no
// goroutine outlives Close. It needs root and ip(8), for the namespaces;
// it skips without them, but in CI (CI=true), where it must run.
func TestLocalDiscoveryNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the mDNS test needs root, which CI has")
		}
		t.Skip("the mDNS test needs root, for network namespaces")
	}
	ip := testenv.Tool(t, "ip")
	bin := testenv.Build(t, "./cmd/p2pnode")
	nsA, nsB := mdnsNamespaces(t, ip)

	ctx, cancel := context.WithTimeout(context.Background(), mdnsGuard)
	defer cancel()
	lines := make(chan string, 64) // "a: …" and "b: …"

	filesA := t.TempDir()
	want := make([]byte, 256<<10)
	rand.Read(want)
	put(t, filesA, "a.bin", want)
	a := startIn(t, ctx, ip, nsA, "a", lines, nil, bin,
		"-key", filepath.Join(t.TempDir(), "a.key"), "-dir", filesA,
		"-listen", "libp2p:///ip4/"+mdnsAddrA+"/tcp/0", "-mdns")

	filesB := t.TempDir()
	netns, err := os.Readlink("/proc/self/ns/net")
	require.NoError(t, err)
	b := startIn(t, ctx, ip, nsB, "b", lines, []string{
		helperEnv + "=libp2p:///ip4/" + mdnsAddrB + "/tcp/0",
		"FILEPEER_MDNS_DIR=" + filesB,
		"FILEPEER_MDNS_WANT=a.bin",
		"FILEPEER_MDNS_PARENT_NS=" + netns,
	}, os.Args[0], "-test.run=^TestLocalDiscoveryHelper$", "-test.count=1")

	// What each said, until b has fetched and a has joined b.
	var urlA, urlB, foundByA, foundByB, helloByA, query string
	var fetched bool
	for urlA == "" || urlB == "" || helloByA == "" || !fetched {
		var l string
		select {
		case l = <-lines:
		case <-ctx.Done():
			t.Fatalf("the nodes did not find each other and fetch within %v (a hang guard):\na: %s\nb: %s", mdnsGuard, a.log(), b.log())
		}
		t.Log(l)
		switch who, s, _ := strings.Cut(l, ": "); who {
		case "a":
			if v, ok := strings.CutPrefix(s, "libp2p: "); ok {
				urlA = v
			} else if v, ok := strings.CutPrefix(s, "mdns: found "); ok {
				foundByA = v
			} else if v, ok := strings.CutPrefix(s, "mdns: hello "); ok {
				helloByA = v
			}
		case "b":
			s, ok := strings.CutPrefix(s, helperSays)
			if !ok {
				continue
			}
			if v, ok := strings.CutPrefix(s, "url "); ok {
				urlB = v
			} else if v, ok := strings.CutPrefix(s, "found "); ok {
				foundByB = v
			} else if v, ok := strings.CutPrefix(s, "query "); ok {
				query = v
			} else if strings.HasPrefix(s, "fetched ") {
				fetched = true
			} else if strings.HasPrefix(s, "error ") {
				t.Fatalf("b: %s\na: %s\nb: %s", s, a.log(), b.log())
			}
		}
	}
	require.Equal(t, urlA, foundByB, "b found a at the URL a printed")
	require.Equal(t, urlB, foundByA, "a found b at the URL b printed")
	require.Equal(t, urlB+": ok", helloByA, "a's hello to b: b answered its probe")
	for _, u := range []string{urlA, urlB} {
		addr, _, err := p2p.ParseURL(u)
		require.NoError(t, err)
		v, err := addr.ValueForProtocol(ma.P_IP4)
		require.NoError(t, err)
		require.Contains(t, []string{mdnsAddrA, mdnsAddrB}, v, "the hosts listen on the namespaces' addresses only")
	}
	sum := sha256.Sum256(want)
	require.Equal(t, fmt.Sprintf("a.bin %d bytes sha256 %s", len(want), hex.EncodeToString(sum[:])), query)
	got, err := os.ReadFile(filepath.Join(filesB, "a.bin"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "the fetched file is a's, byte for byte")

	// b closes when its stdin does, and checks its goroutines then.
	b.stdin.Close()
	for closed := false; !closed; {
		select {
		case l := <-lines:
			t.Log(l)
			if v, ok := strings.CutPrefix(l, "b: "+helperSays+"goroutines left after Close: "); ok {
				require.Equal(t, "none", v)
				closed = true
			}
		case <-ctx.Done():
			t.Fatalf("b did not close:\n%s", b.log())
		}
	}
	require.NoError(t, b.wait(), b.log())
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, a.wait(), a.log())
}

// mdnsNamespaces makes namespaces a and b, joined by a veth pair made in
// them (never in the test's own namespace), each with its address of
// mdnsNet and a route for multicast on that link; they are removed when
// the test ends.
func mdnsNamespaces(t *testing.T, ip string) (string, string) {
	t.Helper()
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(ip, args...).CombinedOutput()
		require.NoError(t, err, "ip %s: %s", strings.Join(args, " "), out)
	}
	var tag [3]byte
	rand.Read(tag[:])
	id := hex.EncodeToString(tag[:])
	ns := map[string]string{"a": "fpmdns-" + id + "-a", "b": "fpmdns-" + id + "-b"}
	dev := map[string]string{"a": "fpm" + id + "a", "b": "fpm" + id + "b"}
	addr := map[string]string{"a": mdnsAddrA, "b": mdnsAddrB}
	for _, n := range []string{"a", "b"} {
		run("netns", "add", ns[n])
		t.Cleanup(func() { exec.Command(ip, "netns", "del", ns[n]).Run() })
	}
	run("-n", ns["a"], "link", "add", dev["a"], "type", "veth", "peer", "name", dev["b"], "netns", ns["b"])
	for _, n := range []string{"a", "b"} {
		run("-n", ns[n], "link", "set", "lo", "up")
		run("-n", ns[n], "addr", "add", addr[n]+"/30", "dev", dev[n])
		run("-n", ns[n], "link", "set", dev[n], "up")
		run("-n", ns[n], "route", "add", "224.0.0.0/4", "dev", dev[n])
	}
	return ns["a"], ns["b"]
}

// nsProc is a process in a namespace, whose lines go to the test
// prefixed with its name.
type nsProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	done   chan struct{} // closed when its output has ended
	exited chan struct{} // closed when it has exited, with err
	err    error

	mu  sync.Mutex
	out bytes.Buffer // guarded by mu: what it printed, for a failure's log
}

func (p *nsProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *nsProc) wait() error {
	<-p.exited
	<-p.done
	return p.err
}

// startIn runs bin with args in namespace ns, under ctx.
func startIn(t *testing.T, ctx context.Context, ip, ns, name string, lines chan<- string, env []string, bin string, args ...string) *nsProc {
	t.Helper()
	p := &nsProc{done: make(chan struct{}), exited: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, ip, append([]string{"netns", "exec", ns, bin}, args...)...)
	p.cmd.Env = append(os.Environ(), append(env, "FILEPEER_SECRET=secret of "+name)...)
	stdin, err := p.cmd.StdinPipe()
	require.NoError(t, err)
	p.stdin = stdin
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	require.NoError(t, p.cmd.Start())
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			fmt.Fprintln(&p.out, sc.Text())
			p.mu.Unlock()
			select {
			case lines <- name + ": " + sc.Text():
			case <-ctx.Done(): // the test reads no more; the log keeps it
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		p.err = p.cmd.Wait()
		pw.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// onlyNet is a connection gater for the helper: it lets its host dial
// and accept mdnsNet's addresses only, and says so if libp2p tried more.
type onlyNet struct{ out func(string, ...any) }

func inNet(m ma.Multiaddr) bool {
	if len(m) > 2 {
		m = m[:2]
	}
	a, err := manet.ToNetAddr(m)
	if err != nil {
		return false
	}
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && netip.MustParsePrefix(mdnsNet).Contains(ap.Addr().Unmap())
}

func (g onlyNet) InterceptPeerDial(lpeer.ID) bool { return true }

func (g onlyNet) InterceptAddrDial(_ lpeer.ID, m ma.Multiaddr) bool {
	if !inNet(m) {
		g.out("error a dial to %s, outside %s", m, mdnsNet)
		return false
	}
	return true
}

func (g onlyNet) InterceptAccept(c network.ConnMultiaddrs) bool { return inNet(c.RemoteMultiaddr()) }

func (g onlyNet) InterceptSecured(network.Direction, lpeer.ID, network.ConnMultiaddrs) bool {
	return true
}

func (g onlyNet) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// TestLocalDiscoveryHelper is node b of TestLocalDiscoveryNetns, run by
// it in a namespace; it skips otherwise. It prints what it does on
// stdout, for the parent: its URL, the peer it found, the query's and
// the fetch's results, and, once its stdin ends, what goroutines are left
// after Close.
func TestLocalDiscoveryHelper(t *testing.T) {
	listen := os.Getenv(helperEnv)
	if listen == "" {
		t.Skip("run by TestLocalDiscoveryNetns, in a network namespace")
	}
	// mDNS must never multicast on the parent's network, the machine's.
	self, err := os.Readlink("/proc/self/ns/net")
	if parent := os.Getenv("FILEPEER_MDNS_PARENT_NS"); err != nil || parent == "" || self == parent {
		t.Fatalf("not in a network namespace of the test's own (%s, the parent's %q: %v): no mDNS here", self, parent, err)
	}
	before := goleak.IgnoreCurrent()
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf(helperSays+format+"\n", args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), mdnsGuard)
	defer cancel()
	nodes := make(chan *peer.Node, 1)
	joined := make(chan string, 1)
	tr, err := p2p.New(p2p.Config{
		ConnectionGater: onlyNet{say},
		LocalDiscovery: p2p.LocalDiscovery{Found: func(ctx context.Context, f p2p.FoundPeer) {
			say("found %s", f.URL)
			var n *peer.Node
			select {
			case n = <-nodes:
				nodes <- n
			case <-ctx.Done():
				return
			}
			if err := n.Hello(transport.WithCallerAddr(ctx, f.Addr), f.URL); err != nil {
				say("not joined %s: %v", f.URL, err)
				return
			}
			select {
			case joined <- f.URL:
			default:
			}
		}},
	})
	require.NoError(t, err)
	secret := os.Getenv("FILEPEER_SECRET")
	n, err := peer.New(peer.Config{URL: listen, Dir: os.Getenv("FILEPEER_MDNS_DIR"), Secret: secret, Transport: tr, PingInterval: -1, TargetPeers: -1})
	require.NoError(t, err)
	require.NoError(t, n.Start())
	say("url %s", tr.URL())
	nodes <- n
	func() {
		select {
		case u := <-joined:
			say("joined %s", u)
		case <-ctx.Done():
			say("error found no peer: %v", ctx.Err())
			return
		}
		name := os.Getenv("FILEPEER_MDNS_WANT")
		b, err := n.Query(ctx, name, nil)
		if err != nil {
			say("error query %s: %v", name, err)
			return
		}
		sum := sha256.Sum256(b)
		say("query %s %d bytes sha256 %s", name, len(b), hex.EncodeToString(sum[:]))
		if err := n.Fetch(ctx, name, secret); err != nil {
			say("error fetch %s: %v", name, err)
			return
		}
		say("fetched %s", name)
	}()
	io.Copy(io.Discard, os.Stdin) // until the parent is done with a and b
	require.NoError(t, n.Close())
	require.NoError(t, tr.Close())
	if err := goleak.Find(before); err != nil {
		say("goroutines left after Close: %s", strings.ReplaceAll(err.Error(), "\n", " | "))
	} else {
		say("goroutines left after Close: none")
	}
}
