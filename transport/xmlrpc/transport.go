package xmlrpc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filepeer/peer/transport"
)

// Defaults of Config.
const (
	DefaultCallTimeout       = 60 * time.Second
	DefaultStallTimeout      = 60 * time.Second
	DefaultMaxReplyBytes     = 16 << 30
	DefaultMaxRequestBytes   = 1 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
)

// ErrClosed is returned by calls on a transport after its Close.
var ErrClosed = errors.New("transport: closed")

// Config configures an XML-RPC transport. The zero value is ready to
// use.
type Config struct {
	// CallTimeout bounds the wait for a reply to begin, on top of the
	// caller's context: from sending the request to receiving the reply's
	// HTTP headers. The body that follows, a file of any size, is bounded
	// by StallTimeout instead, so a multi-GiB transfer is not cut off
	// while it moves. A node answers query as soon as it has the file in
	// hand, but answers fetch only once it has stored the file: raise
	// CallTimeout for fetches of large files. If zero, it is
	// DefaultCallTimeout (60s). If negative, only the caller's context
	// bounds the wait.
	CallTimeout time.Duration

	// StallTimeout bounds each wait for more of a reply's body: a read
	// that gets no byte for this long fails, so a peer that stops sending
	// in mid-file cannot hold a call forever. Time the caller spends
	// between reads does not count. If zero, it is DefaultStallTimeout
	// (60s). If negative, only the caller's context bounds the body.
	StallTimeout time.Duration

	// MaxReplyBytes caps the size of a reply, counted after gzip is
	// undone; a larger reply fails with an error as soon as it passes the
	// cap. If zero, it is DefaultMaxReplyBytes (16 GiB of XML: a file of
	// about 16 GiB as text, 12 GiB as base64).
	MaxReplyBytes int64

	// MaxRequestBytes caps the size of a request the server reads, after
	// gzip is undone. Requests carry only a name, a secret and a short
	// history. If zero, it is DefaultMaxRequestBytes (1 MiB).
	MaxRequestBytes int64

	// RoundTripper makes the outgoing HTTP requests. If nil, the
	// transport makes its own HTTP/1.1 client, which makes each call on
	// the caller's goroutine, keeps connections alive, ignores proxy
	// settings (peers are reached directly), refuses to connect to an
	// address no peer can have (unspecified, link-local, multicast,
	// broadcast: a host name may resolve to one), opens at most 32
	// connections to one peer at a time (an eighth of
	// DefaultMaxConnsPerAddr: more calls wait their turn) and is closed by
	// Close.
	// Redirects are never followed either way.
	RoundTripper http.RoundTripper

	// ReadHeaderTimeout, ReadTimeout and IdleTimeout are the server's
	// timeouts, as http.Server's: for a request's head, for the whole
	// request, and between requests on one connection. If zero, they
	// are DefaultReadHeaderTimeout (10s), DefaultReadTimeout (30s, for
	// the small requests) and DefaultIdleTimeout (120s). There is no
	// write timeout: a reply may be a large file. Negative means none.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration

	// ReplyStallTimeout bounds each write of a reply the server sends: a
	// client that reads nothing for this long is cut off, and the
	// reply's memory, file and connection freed. A client that keeps
	// reading may take as long as it needs. If zero, it is
	// DefaultReplyStallTimeout (30s); if negative, replies are not
	// timed.
	ReplyStallTimeout time.Duration

	// ReplyCacheBytes is the budget of the server's cache of encoded
	// replies: a settled file of Dir (1 MiB or more, left alone for two
	// seconds) sent a second time in one version has its reply, escaped
	// or in base64, kept in memory, and later replies are written from
	// there, as long as a stat finds the file unchanged (a new inode,
	// size, mtime or ctime is a new version). A reply larger than half the
	// budget is never kept, nor is plain text (it is copied out as it is).
	// Every buffer counts until it is let go, including one evicted while
	// slow clients still read it, so the cache never holds more. If zero,
	// it is DefaultReplyCacheBytes (64 MiB); if negative, there is none.
	ReplyCacheBytes int64

	// MaxConnsPerAddr caps the connections the server keeps open at
	// once from one client IP address; one over the cap is closed as
	// soon as it is accepted. As a connection carries one call at a
	// time, it caps the replies in flight to one address too. If zero,
	// it is DefaultMaxConnsPerAddr (64); if negative, there is no cap.
	MaxConnsPerAddr int

	// CertFile and KeyFile, if set, hold the PEM certificate (chain) and
	// key with which Listen serves https:// URLs. If empty, Listen
	// serves only http:// URLs.
	CertFile, KeyFile string

	// RootCAs verifies the certificates of https:// peers. If nil, the
	// system's pool does. It is used only when RoundTripper is nil.
	RootCAs *x509.CertPool

	// ErrorLog receives the HTTP server's own errors (such as failed
	// connections). If nil, they are discarded.
	ErrorLog *log.Logger
}

// Transport is the default transport: XML-RPC over HTTP, wire-compatible with
// Python's xmlrpc.client and xmlrpc.server, so that Go and Python nodes form
// one network. Safe for concurrent use.
type Transport struct {
	cfg Config
	// rt makes the calls. It is used directly rather than through an
	// http.Client, which would only add a redirect policy (a peer is its
	// URL: redirects are never followed) and a dozen allocations a call.
	rt  http.RoundTripper
	own *connPool // nil if cfg.RoundTripper was given

	// peers caches Dial's clients by URL, up to maxDialCache of them: a
	// node dials the peer it asks on every query it passes on, and
	// parsing the URL each time was a tenth of a relay hop's allocations.
	peers  sync.Map // string → *xmlrpcPeer
	npeers atomic.Int32

	mu sync.Mutex
	// guards closed
	closed bool
}

var _ transport.Transport = (*Transport)(nil)

// New returns an XML-RPC transport configured by cfg.
func New(cfg Config) *Transport {
	cfg.CallTimeout = orDefault(cfg.CallTimeout, DefaultCallTimeout)
	cfg.StallTimeout = orDefault(cfg.StallTimeout, DefaultStallTimeout)
	cfg.ReadHeaderTimeout = orDefault(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	cfg.ReadTimeout = orDefault(cfg.ReadTimeout, DefaultReadTimeout)
	cfg.IdleTimeout = orDefault(cfg.IdleTimeout, DefaultIdleTimeout)
	cfg.ReplyStallTimeout = orDefault(cfg.ReplyStallTimeout, DefaultReplyStallTimeout)
	if cfg.MaxConnsPerAddr == 0 {
		cfg.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	if cfg.MaxReplyBytes <= 0 {
		cfg.MaxReplyBytes = DefaultMaxReplyBytes
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = log.New(io.Discard, "", 0)
	}
	t := &Transport{cfg: cfg}
	rt := cfg.RoundTripper
	if rt == nil {
		t.own = newConnPool(&tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12})
		rt = t.own
	}
	t.rt = rt
	return t
}

func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// Close closes the transport's idle connections, so that no keep-alive
// goroutine outlives it; calls and Dial after Close fail with ErrClosed.
// Servers started by Listen are closed by their own Closers. Close is safe
// to call more than once.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	if t.own != nil {
		t.own.close()
	}
	return nil
}

func (t *Transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}
