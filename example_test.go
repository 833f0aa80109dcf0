package peer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

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
