package xmlrpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/filepeer/peer/transport"
)

// Listen serves p at url, an "http://host:port" URL, on host:port (port 80
// if none), or an "https://host:port" URL (port 443 if none) if the
// config has CertFile and KeyFile. On Unix the socket has SO_REUSEADDR,
// as Go's listeners always do, so a node can be restarted on its port at
// once. The io.Closer returned is a *Listener; with port 0, a free port
// is picked, and its URL method gives the URL with the real port. Calls
// are served under p's Context if p is a Contexter. To share a server,
// mount NewHandler in an http.Server of your own.
func (t *Transport) Listen(rawURL string, p transport.Peer) (io.Closer, error) {
	if p == nil {
		return nil, errors.New("transport: listen: nil Peer")
	}
	if t.isClosed() {
		return nil, ErrClosed
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("transport: listen: %w", err)
	}
	var tlsCfg *tls.Config
	switch {
	case u.Scheme == "https" && t.cfg.CertFile != "":
		cert, err := tls.LoadX509KeyPair(t.cfg.CertFile, t.cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("transport: listen %s: %w", rawURL, err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	case u.Scheme == "https":
		return nil, fmt.Errorf("transport: listen %s: https:// needs Config.CertFile and KeyFile", rawURL)
	case u.Scheme != "http":
		return nil, fmt.Errorf("transport: listen %s: only http:// and https:// URLs can be served", rawURL)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if tlsCfg != nil {
			port = "443"
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, fmt.Errorf("transport: listen: %w", err)
	}
	l := &Listener{url: rawURL, addr: ln.Addr()}
	if port == "0" {
		u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		l.url = u.String()
	}
	base := context.Background()
	if c, ok := p.(transport.Contexter); ok {
		base = c.Context()
	}
	var ctx context.Context
	ctx, l.cancel = context.WithCancel(base)
	h := newHandler(p, t.cfg.MaxRequestBytes, t.cfg.ReplyStallTimeout, t.cfg.ReplyCacheBytes)
	l.srv = newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Counted so that Close can wait for handlers that its grace
		// gave up on.
		l.handlers.Add(1)
		defer l.handlers.Done()
		h.ServeHTTP(w, r)
	}), ctx, &t.cfg)
	ln = limitConns(ln, t.cfg.MaxConnsPerAddr)
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	l.ln = ln
	l.serving.Add(1)
	go func() {
		defer l.serving.Done()
		l.srv.serve(ln)
	}()
	return l, nil
}

// Listener is a server started by Listen, which returns it as an
// io.Closer. Its URL and Addr say where it listens; Close stops it.
type Listener struct {
	url      string
	addr     net.Addr
	srv      *server
	ln       net.Listener
	cancel   context.CancelFunc
	serving  sync.WaitGroup // the Serve goroutine
	handlers sync.WaitGroup // running handlers
	once     sync.Once
}

// URL returns the URL served, with the real port if the one asked for was 0.
func (l *Listener) URL() string { return l.url }

// Addr returns the address listened on, with the real port.
func (l *Listener) Addr() net.Addr { return l.addr }

// shutdownGrace is how long Close lets cancelled calls write their faults
// before it cuts their connections.
const shutdownGrace = 2 * time.Second

// Close cancels the calls being served, shuts the server down and waits
// for its goroutines. It is safe to call more than once.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		l.cancel()
		err = l.ln.Close()
		l.serving.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		l.srv.shutdown(ctx)
		l.handlers.Wait()
	})
	return err
}
