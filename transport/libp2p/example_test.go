package libp2p_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/filepeer/peer"
	p2p "github.com/filepeer/peer/transport/libp2p"
)

// Two nodes on loopback hosts: one shares a file, the other finds it.
func Example() {
	dir, _ := os.MkdirTemp("", "p2p-example")
	defer os.RemoveAll(dir)
	start := func(name string) (*peer.Node, func()) {
		// A key file keeps the node's peer id, and so its URL, across
		// restarts.
		tr, err := p2p.New(p2p.Config{KeyFile: filepath.Join(dir, name+".key")})
		if err != nil {
			log.Fatal(err)
		}
		files := filepath.Join(dir, name)
		os.Mkdir(files, 0o755)
		n, err := peer.New(peer.Config{URL: "libp2p:///ip4/127.0.0.1/tcp/0", Dir: files, Transport: tr})
		if err != nil {
			log.Fatal(err)
		}
		if err := n.Start(); err != nil {
			log.Fatal(err)
		}
		return n, func() { n.Close(); tr.Close() }
	}
	a, stopA := start("a")
	defer stopA()
	b, stopB := start("b")
	defer stopB()
	os.WriteFile(filepath.Join(dir, "b", "hello.txt"), []byte("hello over libp2p"), 0o644)

	ctx := context.Background()
	if err := a.Hello(ctx, b.URL()); err != nil {
		log.Fatal(err)
	}
	got, err := a.Query(ctx, "hello.txt", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(got))
	// Output: hello over libp2p
}
