// Command web is chapter 28's GUI as a web page: it starts a node at URL
// sharing DIR and serves, on loopback only, a page with the node's files,
// a field and a Fetch button, a status line, and the known peers with a
// form to add one.
//
//	go run ./examples/web -url URL -dir DIR [-listen 127.0.0.1:8080] [-urls URLFILE]
//	go run ./examples/web -url http://127.0.0.1:4243 -dir files2 -urls urls.txt
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

func run(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	url := fs.String("url", "", "the node's `URL`, e.g. http://127.0.0.1:4243 (required)")
	dir := fs.String("dir", "", "the shared `directory` (required)")
	listen := fs.String("listen", "127.0.0.1:8080", "the loopback `address` of the web page")
	urlFile := fs.String("urls", "", "a `file` of peer URLs to say hello to, one a line")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: web -url URL -dir DIR [-listen 127.0.0.1:8080] [-urls URLFILE]\n\nStarts a node at URL sharing DIR, with a web page to drive it.")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args, -1); err != nil {
		return err
	}
	usage := func(format string, args ...any) error {
		fmt.Fprintf(fs.Output(), "web: "+format+"\n", args...)
		fs.Usage()
		return cli.ErrUsage
	}
	switch {
	case fs.NArg() != 0:
		return usage("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case *url == "" || *dir == "":
		return usage("-url and -dir are required")
	case !isLoopback(*listen):
		// The page fetches with the node's secret: nobody else may see it.
		return usage("-listen %s: not a loopback address such as 127.0.0.1:8080", *listen)
	}
	var peers []string
	if *urlFile != "" {
		var err error
		if peers, err = cli.ReadURLs(*urlFile); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))

	secret := peer.NewSecret()
	node, err := peer.New(peer.Config{URL: *url, Dir: *dir, Secret: secret, Logger: log})
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
	srv := &http.Server{
		Handler:           newServer(node, secret),
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
	// Let a running fetch finish its page, but not for long.
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	<-served
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
