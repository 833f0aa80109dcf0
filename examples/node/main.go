// Command node runs one filepeer node: the Go counterpart of the book's
// server.py. It shares DIR at URL, and fetches into DIR for whoever knows
// SECRET, until it is interrupted (Ctrl-C or SIGTERM). The secret may come
// from $FILEPEER_SECRET or a file (-secret-file) instead of the arguments,
// which every local user can read.
//
//	go run ./examples/node [-v] [-urls URLFILE] [-advertise URL] URL DIR SECRET
//	FILEPEER_SECRET=s3cret go run ./examples/node http://127.0.0.1:4242 files1
//	go run ./examples/node [-v] [-urls URLFILE] [-advertise URL] -url URL -dir DIR -secret SECRET
//	go run ./examples/node http://127.0.0.1:4242 files1 s3cret
//
// With -peers FILE the node keeps its known peers in FILE, and a restart
// rejoins them without hellos. On Ctrl-C or SIGTERM it tells its peers it
// is going, and they forget it at once.
//
// A node's URL is both where it listens and what it tells its peers, so a
// URL such as http://0.0.0.0:4242, which no peer can reach, is refused:
// to listen on every interface, name the URL peers should use with
// -advertise.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	neturl "net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/examples/internal/cli"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], env{stderr: os.Stderr})
	stop()
	os.Exit(cli.ExitCode("node", err, os.Stderr))
}

// env is what run takes from its surroundings, so that tests can supply
// their own.
type env struct {
	stderr    io.Writer
	transport transport.Transport // nil: XML-RPC over HTTP
	started   func(*peer.Node)    // if set, called once the node serves
	getenv    func(string) string // nil: os.Getenv
}

const usage = `usage: node [-v] [-urls URLFILE] [-advertise URL] [-secret-file FILE] URL DIR [SECRET]
   or: node [-v] [-urls URLFILE] [-advertise URL] [-secret-file FILE] -url URL -dir DIR [-secret SECRET]

Serves the files of DIR at URL (e.g. http://127.0.0.1:4242) until
interrupted, and fetches into DIR for whoever knows SECRET. A URL without a
scheme, such as 127.0.0.1:4242, is taken as http://. The secret comes from
SECRET (or -secret), $FILEPEER_SECRET or -secret-file, one of them: every
local user can read a program's arguments, not the other two.`

func run(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	verbose := fs.Bool("v", false, "log each call the node serves, and the node's debug records")
	var a struct{ url, dir, secret, urlFile, advertise, peersFile string }
	fs.StringVar(&a.url, "url", "", "the `URL` to serve at, e.g. http://127.0.0.1:4242 (the book's URL)")
	fs.StringVar(&a.dir, "dir", "", "the shared `directory` (the book's DIR)")
	fs.StringVar(&a.secret, "secret", "", "the `password` that fetch needs (the book's SECRET)")
	fs.StringVar(&a.urlFile, "urls", "", "a `file` of peer URLs to say hello to, one a line")
	secretFile := fs.String("secret-file", "", "read the secret from the first line of `FILE`")
	fs.StringVar(&a.peersFile, "peers", "", "a `file` where the node keeps its known peers across restarts (outside DIR)")
	fs.StringVar(&a.advertise, "advertise", "", "the `URL` peers reach this node at, if not URL: needed to listen on\nevery interface (http://0.0.0.0:4242, http://[::]:4242)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args, -1); err != nil {
		return err
	}
	given := cli.Given(fs)
	switch {
	case given["url"] || given["dir"] || given["secret"]:
		if a.url == "" || a.dir == "" || fs.NArg() != 0 {
			return cli.Usagef(fs, "give -url and -dir together, or the book's URL DIR SECRET")
		}
	case fs.NArg() != 2 && fs.NArg() != 3:
		fs.Usage()
		return cli.ErrUsage
	default:
		a.url, a.dir, a.secret = fs.Arg(0), fs.Arg(1), fs.Arg(2)
	}
	getenv := e.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	secret, err := cli.Secret(*secretFile, a.secret, getenv)
	if err != nil {
		return err
	}
	if secret == "" {
		return cli.Usagef(fs, "no secret: give SECRET, $%s or -secret-file", cli.SecretEnv)
	}
	listen, err := cli.PeerURL(a.url)
	if err != nil {
		return cli.Usagef(fs, "URL: %v", err)
	}
	url := listen
	if a.advertise != "" {
		if url, err = cli.PeerURL(a.advertise); err != nil {
			return cli.Usagef(fs, "-advertise: %v", err)
		}
		if unspecified(url) {
			return cli.Usagef(fs, "-advertise %s: peers cannot reach a node there; give this machine's name or address", url)
		}
	} else if unspecified(url) {
		return cli.Usagef(fs, "%s would listen on every interface and tell peers a URL none of them can reach;\n"+
			"serve at one address (http://127.0.0.1:4242, or this machine's), or add -advertise with the URL peers should use", url)
	}
	var peers []string
	if a.urlFile != "" {
		if peers, err = cli.ReadURLs(a.urlFile); err != nil {
			return err
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	tr := e.transport
	if tr == nil {
		x := xmlrpc.New(xmlrpc.Config{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)})
		defer x.Close() // after the node's Close, deferred below
		tr = x
	}
	if listen != url {
		tr = listenAt{tr, listen}
	}
	if *verbose {
		tr = logCalls{tr, log}
	}
	node, err := peer.New(peer.Config{
		URL:       url,
		Dir:       a.dir,
		Secret:    secret,
		Transport: tr,
		Logger:    log,
		PeersFile: a.peersFile,
	})
	if err != nil {
		return err
	}
	defer node.Close()
	if err := node.Start(); err != nil {
		return err
	}
	if listen != url {
		log.Info("listening", "url", listen)
	}
	// Hash Dir now rather than as the first searches come, so that the
	// first fetch of a file here is checked against its hash.
	indexed := make(chan struct{})
	go func() {
		defer close(indexed)
		start := time.Now()
		switch err := node.Index(ctx); {
		case err != nil && ctx.Err() == nil:
			log.Warn("hashing the directory failed", "err", err)
		case err == nil:
			log.Info("directory hashed", "took", time.Since(start).Round(time.Millisecond))
		}
	}()
	defer func() { <-indexed }()
	for _, u := range peers {
		if err := node.Hello(ctx, u); err != nil {
			log.Warn("hello failed", "peer", u, "err", err)
		}
	}
	if e.started != nil {
		e.started(node)
	}
	<-ctx.Done()
	log.Info("shutting down")
	return node.Close()
}

// unspecified reports whether url names no host, or an address that means
// every interface (0.0.0.0, ::), where no peer can reach a node.
func unspecified(url string) bool {
	u, err := neturl.Parse(url)
	if err != nil {
		return false // PeerURL has read it already
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() == "" || ip != nil && ip.IsUnspecified()
}

// listenAt serves at a URL other than the node's own: the node's URL is
// what peers are told, while the listener may be on every interface.
type listenAt struct {
	transport.Transport
	url string
}

func (l listenAt) Listen(_ string, p transport.Peer) (io.Closer, error) {
	c, err := l.Transport.Listen(l.url, p)
	if err != nil {
		return nil, err
	}
	// Only Close: the listener's URL method would tell the node that it is
	// at the listening URL.
	return struct{ io.Closer }{c}, nil
}
