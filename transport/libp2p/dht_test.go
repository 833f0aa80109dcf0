package libp2p_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lpeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
	p2p "github.com/filepeer/peer/transport/libp2p"
	"github.com/filepeer/peer/transport/xmlrpc"
)

func dhtDeadline(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newDHT starts a DHT on tr, closed when the test ends, before tr.
func newDHT(t testing.TB, tr *p2p.Transport, cfg p2p.DHTConfig) *p2p.DHT {
	t.Helper()
	d, err := p2p.NewDHT(tr, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return d
}

func hexSHA(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// A host that announces without end fills another's store only up to the
// bound per host: of 400 hashes announced, the other keeps 100 in its
// store (and at most the provider manager's few hundred waiting to be
// written), while its own records are not bounded.
func TestDHTBoundsProviderRecords(t *testing.T) {
	ctx := dhtDeadline(t)
	a, b := startNode(t, ""), startNode(t, "")
	da := newDHT(t, a.tr, p2p.DHTConfig{MaxProviderRecordsPerHost: 100})
	db := newDHT(t, b.tr, p2p.DHTConfig{Bootstrap: []string{a.URL()}, MaxProviderRecordsPerHost: 100})
	require.NoError(t, db.Bootstrap(ctx))
	for i := range 400 {
		require.NoError(t, db.Provide(ctx, hexSHA([]byte(fmt.Sprint("contents ", i)))))
	}
	// The provider manager writes its records in batches of 256, once a
	// has handled that many ADD_PROVIDERs, which kad-dht sends without
	// waiting for an answer: the first batch passes the bound, at once.
	for deadline := time.Now().Add(30 * time.Second); da.ProviderRecords() == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, 100, da.ProviderRecords())
	require.Zero(t, db.ProviderRecords(), "b's own records are not others'")
	// b wrote its first 256 own records to its store: a third host
	// finds it by one past its bound.
	c := startNode(t, "")
	dc := newDHT(t, c.tr, p2p.DHTConfig{Bootstrap: []string{b.URL()}})
	require.NoError(t, dc.Bootstrap(ctx))
	got, err := dc.FindHolders(ctx, hexSHA([]byte("contents 200")), 16)
	require.NoError(t, err)
	require.Equal(t, []string{b.URL()}, got, "b's own records were bounded")
}

// Two hosts: what one provides, the other finds, at the first's URL; a
// bad hash is an error, and calls after Close fail.
func TestDHTProvideAndFind(t *testing.T) {
	ctx := dhtDeadline(t)
	a, b := startNode(t, ""), startNode(t, "")
	da := newDHT(t, a.tr, p2p.DHTConfig{})
	db := newDHT(t, b.tr, p2p.DHTConfig{Bootstrap: []string{a.URL()}})
	require.NoError(t, db.Bootstrap(ctx))

	hash := hexSHA([]byte("the contents"))
	require.NoError(t, db.Provide(ctx, hash))
	// kad-dht sends ADD_PROVIDER without waiting for an answer, and a
	// takes b into its routing table after identifying it, both in the
	// background: a may need a moment (it failed once in CI, under
	// -race, asking at once).
	var got []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		got, err = da.FindHolders(ctx, hash, 16)
		require.NoError(t, err)
		if len(got) > 0 || time.Now().After(deadline) {
			break
		}
	}
	require.Equal(t, []string{b.URL()}, got)
	got, err := db.FindHolders(ctx, hash, 16)
	require.NoError(t, err)
	require.Empty(t, got, "a host's own record is left out")
	got, err = db.FindHolders(ctx, hexSHA([]byte("nobody's")), 16)
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = db.FindHolders(ctx, hash, 0)
	require.NoError(t, err)
	require.Empty(t, got)

	for _, bad := range []string{"", "xyz", strings.ToUpper(hash), hash[:62], hash + "00"} {
		require.ErrorContains(t, da.Provide(ctx, bad), "is not a hex SHA-256")
		_, err := da.FindHolders(ctx, bad, 1)
		require.ErrorContains(t, err, "is not a hex SHA-256")
	}

	require.NoError(t, db.Close())
	require.NoError(t, db.Close())
	require.ErrorIs(t, db.Provide(ctx, hash), xmlrpc.ErrClosed)
	_, err = db.FindHolders(ctx, hash, 1)
	require.ErrorIs(t, err, xmlrpc.ErrClosed)
	require.ErrorIs(t, db.Bootstrap(ctx), xmlrpc.ErrClosed)
}

// NewDHT refuses what would join the public DHT, or cannot be dialled.
func TestDHTRefusals(t *testing.T) {
	tr := newTransport(t, p2p.Config{})
	other := newTransport(t, p2p.Config{})
	good := "libp2p:///ip4/127.0.0.1/tcp/4001/p2p/" + other.ID().String()
	for _, tc := range []struct {
		cfg  p2p.DHTConfig
		want string
	}{
		{p2p.DHTConfig{ProtocolPrefix: "/ipfs"}, "public IPFS DHT"},
		{p2p.DHTConfig{ProtocolPrefix: "filepeer"}, "want /name"},
		{p2p.DHTConfig{Bootstrap: []string{"http://127.0.0.1:4001"}}, "not libp2p:///"},
		{p2p.DHTConfig{Bootstrap: []string{"libp2p:///p2p/" + other.ID().String()}}, "no address"},
		{p2p.DHTConfig{Bootstrap: []string{"libp2p:///ip4/0.0.0.0/tcp/1/p2p/" + other.ID().String()}}, "unspecified"},
		{p2p.DHTConfig{Bootstrap: make([]string, 65)}, "more than 64"},
	} {
		_, err := p2p.NewDHT(tr, tc.cfg)
		require.ErrorContains(t, err, tc.want, "%+v", tc.cfg)
	}
	_, err := p2p.NewDHT(nil, p2p.DHTConfig{})
	require.Error(t, err)

	// A bootstrap peer nobody answers at: Bootstrap says so.
	d := newDHT(t, tr, p2p.DHTConfig{Bootstrap: []string{good}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.ErrorContains(t, d.Bootstrap(ctx), "no bootstrap peer reached")

	closed := newTransport(t, p2p.Config{})
	require.NoError(t, closed.Close())
	_, err = p2p.NewDHT(closed, p2p.DHTConfig{})
	require.ErrorIs(t, err, xmlrpc.ErrClosed)
}

// counter counts the filepeer calls the nodes of a test make, at the
// transport, as a Transport between each node and its host.
type counter struct {
	*p2p.Transport
	calls *atomic.Int64
}

func (c counter) Dial(url string) (transport.Peer, error) {
	p, err := c.Transport.Dial(url)
	if err != nil {
		return nil, err
	}
	return countedPeer{p, c.calls}, nil
}

type countedPeer struct {
	p     transport.Peer
	calls *atomic.Int64
}

func (c countedPeer) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	c.calls.Add(1)
	return c.p.Query(ctx, name, history)
}

func (c countedPeer) Hello(ctx context.Context, url string) error {
	c.calls.Add(1)
	return c.p.Hello(ctx, url)
}

func (c countedPeer) Fetch(ctx context.Context, name, secret string) error {
	c.calls.Add(1)
	return c.p.Fetch(ctx, name, secret)
}

func (c countedPeer) List(ctx context.Context) ([]string, error) {
	c.calls.Add(1)
	return c.p.(transport.Lister).List(ctx)
}

func (c countedPeer) Call(ctx context.Context, method string, args ...any) (any, error) {
	c.calls.Add(1)
	return c.p.(transport.Caller).Call(ctx, method, args...)
}

func (c countedPeer) Open(ctx context.Context, method string, args ...any) (io.ReadCloser, error) {
	c.calls.Add(1)
	return c.p.(transport.Caller).Open(ctx, method, args...)
}

// provided is a router that tells when its Provide calls end.
type provided struct {
	peer.ContentRouter
	done chan string // the hashes announced
}

func (p provided) Provide(ctx context.Context, hash string) error {
	err := p.ContentRouter.Provide(ctx, hash)
	if err == nil {
		p.done <- hash
	}
	return err
}

// In a network of 50 libp2p hosts in one process, on loopback, linked
// for the flood as two random rings (degree 4) and joined in the DHT by
// three seeds, a fetch by hash finds the one holder through the DHT in a
// bounded number of messages, far under the flood's in the same network,
// bytes identical. The figures are logged: go test -v -run
// TestDHTFetchIn50Hosts ./transport/libp2p
func TestDHTFetchIn50Hosts(t *testing.T) {
	const hosts, seeds = 50, 3
	ctx := dhtDeadline(t)
	var dhtMsgs, calls atomic.Int64
	type host struct {
		tr  *p2p.Transport
		dht *p2p.DHT
		n   *peer.Node
		dir string
	}
	hs := make([]*host, hosts)
	flooder := 2 // the getter with no router
	var holderDone chan string
	start := time.Now()
	for i := range hosts {
		tr := newTransport(t, p2p.Config{})
		var boot []string
		for j := range min(i, seeds) {
			boot = append(boot, hs[j].n.URL())
		}
		d := newDHT(t, tr, p2p.DHTConfig{Bootstrap: boot, OnRequest: func(lpeer.ID) { dhtMsgs.Add(1) }})
		h := &host{tr: tr, dht: d, dir: t.TempDir()}
		cfg := peer.Config{
			URL: tcpURL, Dir: h.dir, Secret: "s3cret", Transport: counter{tr, &calls},
			PingInterval: -1, TargetPeers: -1, LeaveTimeout: -1,
		}
		switch i {
		case flooder:
		case hosts - 1: // the holder
			holderDone = make(chan string, 4)
			cfg.Router = provided{d, holderDone}
		default:
			cfg.Router = d
		}
		n, err := peer.New(cfg)
		require.NoError(t, err)
		require.NoError(t, n.Start())
		t.Cleanup(func() { n.Close() })
		h.n = n
		hs[i] = h
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	errs := make([]error, hosts)
	for i, h := range hs[1:] {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = h.dht.Bootstrap(ctx)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}

	// The flood's links: two random rings, known both ways.
	r := rand.New(rand.NewPCG(18, 50))
	links := make(map[[2]int]bool)
	for range 2 {
		p := r.Perm(hosts)
		for i := range p {
			a, b := p[i], p[(i+1)%hosts]
			links[[2]int{min(a, b), max(a, b)}] = true
		}
	}
	for l := range links {
		require.NoError(t, hs[l[0]].n.Hello(ctx, hs[l[1]].n.URL()))
		require.NoError(t, hs[l[1]].n.Hello(ctx, hs[l[0]].n.URL()))
	}
	t.Logf("%d hosts up and joined in %v; %d links for the flood", hosts, time.Since(start).Round(time.Millisecond), len(links))

	holder := hs[hosts-1]
	body := make([]byte, 2<<20+12345)
	rand.NewChaCha8([32]byte{18}).Read(body)
	hash := hexSHA(body)
	p := filepath.Join(holder.dir, "wanted.bin")
	require.NoError(t, os.WriteFile(p, body, 0o644))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(p, old, old))
	before := dhtMsgs.Load()
	require.NoError(t, holder.n.Index(ctx))
	select {
	case got := <-holderDone:
		require.Equal(t, hash, got)
	case <-ctx.Done():
		t.Fatal("the holder never announced its file")
	}
	provideMsgs := dhtMsgs.Load() - before

	fetch := func(i int) (dht, filepeer int64, res peer.FetchResult) {
		d0, c0 := dhtMsgs.Load(), calls.Load()
		res, err := hs[i].n.Download(ctx, "sha256:"+hash, "s3cret")
		require.NoError(t, err)
		require.Equal(t, peer.Fetched, res.Status)
		require.Equal(t, "wanted.bin", res.Name)
		got, err := os.ReadFile(filepath.Join(hs[i].dir, "wanted.bin"))
		require.NoError(t, err)
		require.Equal(t, hash, hexSHA(got), "bytes identical")
		return dhtMsgs.Load() - d0, calls.Load() - c0, res
	}
	routedDHT, routedCalls, res := fetch(1)
	require.Equal(t, []string{holder.n.URL()}, res.Holders)
	floodDHT, floodCalls, _ := fetch(flooder)
	t.Logf("announcing the file: %d DHT requests", provideMsgs)
	// Each is a request and its answer: DHT requests as the hosts
	// serving them count them, filepeer calls as the callers make them.
	t.Logf("fetch by hash through the DHT: %d DHT requests + %d filepeer calls = %d", routedDHT, routedCalls, routedDHT+routedCalls)
	t.Logf("fetch by hash flooding:        %d DHT requests + %d filepeer calls = %d", floodDHT, floodCalls, floodDHT+floodCalls)

	// The holder's search, its piece list, its three pieces.
	require.Equal(t, int64(5), routedCalls)
	// One lookup, which asks each host once at most: the K (20)
	// nearest the key, and those on the way.
	require.Less(t, routedDHT, int64(hosts))
	require.Less(t, 2*(routedDHT+routedCalls), floodDHT+floodCalls, "the DHT's cost is well under the flood's")
}
