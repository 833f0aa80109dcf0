// Command p2pnode runs a filepeer node on libp2p, and, with -http, on
// XML-RPC too, bridging the book's Python nodes and libp2p peers. It keeps
// its identity in the key file, so its peer id survives restarts, and
// serves DIR until interrupted. The secret comes from $FILEPEER_SECRET.
//
//	go run ./cmd/p2pnode -key node.key -dir files [-listen URL] [-http URL] [-dht] [-join URL]... [-mdns]
//
// On two machines (say 192.0.2.7 and 192.0.2.8), each names its own
// address; the second joins the first by the URL the first printed:
//
//	p2pnode -key a.key -dir files -listen libp2p:///ip4/192.0.2.7/tcp/4001
//	p2pnode -key b.key -dir files -listen libp2p:///ip4/192.0.2.8/tcp/4001 \
//	    -join libp2p:///ip4/192.0.2.7/tcp/4001/p2p/12D3KooW…
//
// With -dht, the node announces the hashes of its files in filepeer's
// Kademlia DHT (a DHT of filepeer's hosts alone, apart from the public
// IPFS one), which it joins by the libp2p -join URLs, and a fetch of
// known contents (a name "sha256:<hex>") asks it for holders before
// flooding the network: a client's fetch of "sha256:<hex>" (over -http,
// say) brings those contents under their holder's name.
//
// The firewall must let in TCP port 4001 (or UDP, for a …/udp/4001/quic-v1
// address). A listen address must be one peers can dial: 0.0.0.0 is
// refused.
//
// With -mdns the node also finds the nodes on its local network that run
// with -mdns, and says hello to them (as a hello from the network: each
// must answer a probe before it is added). It announces itself and asks by
// multicast DNS, on UDP port 5353 of every interface that has multicast,
// which the firewall must let in; it prints a line for each node found.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
	p2p "github.com/filepeer/peer/transport/libp2p"
	"github.com/filepeer/peer/transport/xmlrpc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "p2pnode:", err)
		os.Exit(1)
	}
}

type urls []string

func (u *urls) String() string     { return fmt.Sprint(*u) }
func (u *urls) Set(s string) error { *u = append(*u, s); return nil }

// run starts the node, says hello to the -join URLs, prints the node's
// URLs on out and serves until ctx ends.
func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("p2pnode", flag.ContinueOnError)
	key := fs.String("key", "", "file of the node's private key (made if missing); required")
	dir := fs.String("dir", "", "shared directory; required")
	listen := fs.String("listen", "libp2p:///ip4/127.0.0.1/tcp/4001", "libp2p URL to listen at")
	httpURL := fs.String("http", "", "also serve XML-RPC at this http:// URL, bridging the two networks")
	useDHT := fs.Bool("dht", false, "announce the files' hashes in filepeer's DHT (protocol /filepeer/kad/1.0.0), joined by the libp2p -join URLs, and ask it for holders before flooding")
	var join urls
	fs.Var(&join, "join", "URL of a peer to say hello to (repeatable)")
	local := fs.Bool("mdns", false, "find the nodes on the local network by mDNS (multicast on UDP port 5353) and say hello to them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case *key == "":
		return errors.New("-key is required")
	case *dir == "":
		return errors.New("-dir is required")
	}
	out = &lockedWriter{w: out}
	// found is the node's once it has started; mDNS starts with it.
	found := make(chan *peer.Node, 1)
	cfg := p2p.Config{KeyFile: *key}
	if *local {
		cfg.LocalDiscovery.Found = func(ctx context.Context, f p2p.FoundPeer) {
			var n *peer.Node
			select {
			case n = <-found:
				found <- n
			case <-ctx.Done():
				return
			}
			fmt.Fprintln(out, "mdns: found", f.URL)
			// A hello from the network: the node adds the peer once
			// it has answered a probe.
			said := "ok"
			if err := n.Hello(transport.WithCallerAddr(ctx, f.Addr), f.URL); err != nil {
				said = err.Error()
			}
			fmt.Fprintf(out, "mdns: hello %s: %s\n", f.URL, said)
		}
	}
	lt, err := p2p.New(cfg)
	if err != nil {
		return err
	}
	defer lt.Close()
	var tr transport.Transport = lt
	url := *listen
	if *httpURL != "" {
		xr := xmlrpc.New(xmlrpc.Config{})
		defer xr.Close()
		mux, err := p2p.NewMux(
			p2p.Route{Schemes: []string{"http", "https"}, Transport: xr},
			p2p.Route{Schemes: []string{p2p.Scheme}, Transport: lt, Also: *listen},
		)
		if err != nil {
			return err
		}
		tr, url = mux, *httpURL
	}
	ncfg := peer.Config{URL: url, Dir: *dir, Secret: getenv("FILEPEER_SECRET"), Transport: tr}
	var dht *p2p.DHT
	if *useDHT {
		var boot []string
		for _, u := range join {
			if strings.HasPrefix(u, p2p.Scheme+":") {
				boot = append(boot, u)
			}
		}
		if dht, err = p2p.NewDHT(lt, p2p.DHTConfig{Bootstrap: boot}); err != nil {
			return err
		}
		defer dht.Close() // after the node's Close, before the host's
		ncfg.Router = dht
	}
	n, err := peer.New(ncfg)
	if err != nil {
		return err
	}
	defer n.Close()
	if dht != nil {
		// Before Start, so that the first announcements find peers.
		if err := dht.Bootstrap(ctx); err != nil {
			return err
		}
	}
	if err := n.Start(); err != nil {
		return err
	}
	fmt.Fprintln(out, "libp2p:", lt.URL())
	if *httpURL != "" {
		fmt.Fprintln(out, "http:", n.URL())
	}
	found <- n // after the URLs, which come first in out
	for _, u := range join {
		if err := n.Hello(ctx, u); err != nil {
			return fmt.Errorf("join %s: %w", u, err)
		}
	}
	<-ctx.Done()
	return nil
}

// lockedWriter is a Writer safe for concurrent use: the mDNS reports and
// the main goroutine both print.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
