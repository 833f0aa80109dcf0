package peer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
)

// startExampleNode starts a node on net with a temporary shared directory.
func startExampleNode(net transport.Transport, url, secret string) (*peer.Node, string) {
	dir, err := os.MkdirTemp("", "filepeer-example")
	if err != nil {
		log.Fatal(err)
	}
	n, err := peer.New(peer.Config{URL: url, Dir: dir, Secret: secret, Transport: net})
	if err != nil {
		log.Fatal(err)
	}
	if err := n.Start(); err != nil {
		log.Fatal(err)
	}
	return n, dir
}

// Three nodes in a line, a-b-c, on an in-memory network: a query at a
// crosses two hops to find the file on c, and a fetch stores it at a.
func Example() {
	ctx := context.Background()
	net := transport.NewMemory()
	a, dirA := startExampleNode(net, "mem://a", "a's secret")
	b, dirB := startExampleNode(net, "mem://b", "b's secret")
	c, dirC := startExampleNode(net, "mem://c", "c's secret")
	defer func() {
		for _, n := range []*peer.Node{a, b, c} {
			n.Close()
		}
		for _, d := range []string{dirA, dirB, dirC} {
			os.RemoveAll(d)
		}
	}()
	a.Hello(ctx, b.URL())
	b.Hello(ctx, c.URL())
	os.WriteFile(filepath.Join(dirC, "poem.txt"), []byte("two hops away\n"), 0o644)

	data, err := a.Query(ctx, "poem.txt", nil)
	fmt.Printf("query: %q, %v\n", data, err)

	err = a.Fetch(ctx, "poem.txt", "a's secret")
	stored, _ := os.ReadFile(filepath.Join(dirA, "poem.txt"))
	fmt.Printf("fetch: %v, stored %q\n", err, stored)

	_, err = a.Query(ctx, "missing.txt", nil)
	fmt.Println("missing:", errors.Is(err, peer.ErrUnhandled), err)

	err = a.Fetch(ctx, "../outside.txt", "a's secret")
	fmt.Println("outside:", errors.Is(err, peer.ErrAccessDenied), err)
	// Output:
	// query: "two hops away\n", <nil>
	// fetch: <nil>, stored "two hops away\n"
	// missing: true fault 100: Couldn't handle the query
	// outside: true fault 200: Access denied
}

// A fault from any node, near or far, is matched by code.
func ExampleFault() {
	err := fmt.Errorf("asking a peer: %w", &peer.Fault{Code: 100, Message: "not here"})
	var f *peer.Fault
	if errors.As(err, &f) {
		fmt.Println(f.Code, errors.Is(err, peer.ErrUnhandled))
	}
	// Output: 100 true
}

// directory is a content router in memory, for the example: what one node
// announces, the others find.
type directory struct {
	mu sync.Mutex
	// guards holders
	holders   map[string][]string
	announced chan string
}

// entry is the directory as the node at url uses it.
type entry struct {
	d   *directory
	url string
}

func (e entry) Provide(ctx context.Context, hash string) error {
	e.d.mu.Lock()
	e.d.holders[hash] = append(e.d.holders[hash], e.url)
	e.d.mu.Unlock()
	select {
	case e.d.announced <- hash:
	default:
	}
	return nil
}

func (e entry) FindHolders(ctx context.Context, hash string, max int) ([]string, error) {
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	h := e.d.holders[hash]
	return h[:min(len(h), max)], nil
}

// Two nodes that do not know each other share a content router: the
// holder announces its file once hashed, and the other fetches it by
// hash, from the holder the router names, with no flood.
func ExampleContentRouter() {
	ctx := context.Background()
	net := transport.NewMemory()
	d := &directory{holders: make(map[string][]string), announced: make(chan string, 1)}
	var nodes []*peer.Node
	var dirs []string
	for _, url := range []string{"mem://a", "mem://c"} {
		dir, _ := os.MkdirTemp("", "filepeer-example")
		defer os.RemoveAll(dir)
		dirs = append(dirs, dir)
		n, err := peer.New(peer.Config{URL: url, Dir: dir, Secret: "s3cret", Transport: net, Router: entry{d, url}})
		if err != nil {
			log.Fatal(err)
		}
		defer n.Close()
		if err := n.Start(); err != nil {
			log.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	a, c := nodes[0], nodes[1]
	p := filepath.Join(dirs[1], "song.txt")
	os.WriteFile(p, []byte("la la la\n"), 0o644)
	old := time.Now().Add(-time.Hour) // settled: a node hashes only files left alone
	os.Chtimes(p, old, old)
	c.Index(ctx)
	hash := <-d.announced

	res, err := a.Download(ctx, "sha256:"+hash, "s3cret")
	fmt.Println(res.Status, res.Name, res.Holders, err)
	// Output: fetched song.txt [mem://c] <nil>
}
