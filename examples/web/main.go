// Command web is chapter 28's GUI as a web page: it starts a node at URL
// sharing DIR and serves, on loopback only, a page with the node's files,
// a field and a Fetch button, a search of the network whose results each
// have a Fetch button, and the known peers with a form to add one.
// Fetches run in the node, so closing the tab does not stop them; each
// browser sees how its own actions went, beside the form it used.
//
//	go run ./examples/web [-listen 127.0.0.1:8080] URLFILE DIR URL
//	go run ./examples/web [-listen 127.0.0.1:8080] [-urls URLFILE] -dir DIR -url URL
//	go run ./examples/web urls.txt files2 http://127.0.0.1:4243
//
// then open http://127.0.0.1:8080/ in a browser.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/examples/internal/cli"
	"github.com/filepeer/peer/transport/xmlrpc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], env{stderr: os.Stderr})
	stop()
	os.Exit(cli.ExitCode("web", err, os.Stderr))
}

// env is what run takes from its surroundings, so that tests can supply
// their own.
type env struct {
	stderr io.Writer
	// listening, if set, is called with the page's address once it is
	// served.
	listening func(addr string)
}

const usage = `usage: web [-v] [-listen 127.0.0.1:8080] URLFILE DIR URL
   or: web [-v] [-listen 127.0.0.1:8080] [-urls URLFILE] -dir DIR -url URL

Starts a node at URL sharing DIR, says hello to the peers listed in URLFILE
(one URL a line), and serves a web page to drive it. A URL without a
scheme, such as 127.0.0.1:4243, is taken as http://.`

func run(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	verbose := fs.Bool("v", false, "log the node's debug records too")
	var a struct{ urlFile, dir, url string }
	fs.StringVar(&a.urlFile, "urls", "", "a `file` of peer URLs to say hello to, one a line (the book's URLFILE)")
	fs.StringVar(&a.dir, "dir", "", "the shared `directory` (the book's DIR)")
	fs.StringVar(&a.url, "url", "", "this node's `URL`, e.g. http://127.0.0.1:4243 (the book's URL)")
	listen := fs.String("listen", "127.0.0.1:8080", "the loopback `address` of the web page")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args, -1); err != nil {
		return err
	}
	given := cli.Given(fs)
	switch {
	case given["dir"] || given["url"]:
		if a.dir == "" || a.url == "" {
			return cli.Usagef(fs, "-dir and -url go together (or give the book's URLFILE DIR URL)")
		}
		if fs.NArg() != 0 {
			return cli.Usagef(fs, "unexpected arguments: %s", strings.Join(fs.Args(), " "))
		}
	case given["urls"]:
		return cli.Usagef(fs, "-urls needs -dir and -url")
	case fs.NArg() != 3:
		fs.Usage()
		return cli.ErrUsage
	default:
		a.urlFile, a.dir, a.url = fs.Arg(0), fs.Arg(1), fs.Arg(2)
	}
	if !isLoopback(*listen) {
		// The page fetches with the node's secret: nobody else may see it.
		return cli.Usagef(fs, "-listen %s: not a loopback address such as 127.0.0.1:8080", *listen)
	}
	url, err := cli.PeerURL(a.url)
	if err != nil {
		return cli.Usagef(fs, "URL: %v", err)
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
	dir, err := os.OpenRoot(a.dir)
	if err != nil {
		return err
	}
	defer dir.Close()

	// The page keeps the transport, to check that a peer it adds answers.
	tr := xmlrpc.New(xmlrpc.Config{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)})
	defer tr.Close()
	secret := peer.NewSecret()
	m := newMeter()
	node, err := peer.New(peer.Config{URL: url, Dir: a.dir, Secret: secret, Transport: tr, Logger: log, FetchProgress: m.FetchProgress})
	if err != nil {
		return err
	}
	defer node.Close()
	if err := node.Start(); err != nil {
		return err
	}
	for _, u := range peers {
		if err := node.Hello(ctx, u); err != nil {
			log.Warn("hello failed", "peer", u, "err", err)
		}
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	page := newServer(node, secret, dir, tr, m)
	defer page.Close()
	srv := &http.Server{
		Handler:           page.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("web page ready", "url", "http://"+ln.Addr().String()+"/")
	if e.listening != nil {
		e.listening(ln.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Requests are short (fetches run in the page's server): a moment
	// is enough for them.
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	<-served
	page.Close()
	return errors.Join(err, node.Close())
}

// isLoopback reports whether addr (host:port) is on a loopback interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
