package xmlrpc

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults of the server's guards against hostile clients.
const (
	// DefaultReplyStallTimeout is Config.ReplyStallTimeout's zero
	// value.
	DefaultReplyStallTimeout = 30 * time.Second
	// DefaultMaxConnsPerAddr is Config.MaxConnsPerAddr's zero
	// value. Several peers may share one address (a host of many nodes,
	// a NAT, loopback in tests): 30 node processes on one machine that
	// all know each other, flooding queries at once, went past 64 and
	// lost peers to the connections cut at accept.
	DefaultMaxConnsPerAddr = 256
	// MaxFaultString is the most of a fault string a client keeps: a
	// longer one is cut to this many bytes, so that a peer's text in an
	// error or a log line stays small.
	MaxFaultString = 4 << 10
	// maxFaultDoc bounds a whole fault reply: one larger is refused
	// before it is read to its end.
	maxFaultDoc = 64 << 10
)

// remoteAddr parses an http.Request's RemoteAddr ("ip:port").
func remoteAddr(s string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// errNonPeerAddr refuses a connection to an address no peer can have.
var errNonPeerAddr = errors.New("transport: refusing to connect to an unspecified, link-local, multicast or broadcast address")

// refuseNonPeerAddr is the dialer's Control: it sees the address a host
// name resolved to, which the check of a URL cannot, and refuses those no
// peer can have (the link-local metadata service of a cloud host among
// them) before the connection is made.
func refuseNonPeerAddr(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil
	}
	ip := ap.Addr().Unmap()
	if ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return errNonPeerAddr
	}
	return nil
}

// stallWriter sets the connection's write deadline before every write of
// a reply, so that a client that stops reading is cut off after stall,
// which frees the reply's buffers, file and descriptor, while a client
// that keeps reading may take as long as a large file needs. (A single
// http.Server.WriteTimeout would cut large files off.)
type stallWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func (s *stallWriter) Write(p []byte) (int, error) {
	// ErrNotSupported (a server of the user's that cannot) leaves the
	// reply unguarded, as it was.
	s.rc.SetWriteDeadline(time.Now().Add(s.stall))
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (s *stallWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// connLimiter caps the connections open at once from each client
// address: a connection over the cap is closed as soon as it is accepted,
// before it costs a goroutine or a buffer.
type connLimiter struct {
	net.Listener
	max int

	mu sync.Mutex
	// guards open
	open map[netip.Addr]int
}

func limitConns(l net.Listener, max int) net.Listener {
	if max <= 0 {
		return l
	}
	return &connLimiter{Listener: l, max: max, open: make(map[netip.Addr]int)}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr, ok := remoteAddr(c.RemoteAddr().String())
		if !ok {
			return c, nil
		}
		l.mu.Lock()
		over := l.open[addr] >= l.max
		if !over {
			l.open[addr]++
		}
		l.mu.Unlock()
		if over {
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: l, addr: addr}, nil
	}
}

func (l *connLimiter) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr]--; l.open[addr] <= 0 {
		delete(l.open, addr)
	}
}

// limitedConn gives its place back to the limiter when it closes.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	addr netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.addr) })
	return err
}

// CloseWrite shuts the sending half of the connection, where the
// connection can.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// quietBody reads a request's body, replacing a read error with one that
// names no socket address: the error may end up in a fault sent to the
// client, who has no business learning the server's addresses.
type quietBody struct{ r io.Reader }

func (q quietBody) Read(p []byte) (int, error) {
	n, err := q.r.Read(p)
	if err != nil && err != io.EOF {
		var mbe *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &mbe):
		case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
			err = errors.New("transport: request body: read timed out")
		case errors.Is(err, io.ErrUnexpectedEOF):
			err = errors.New("transport: request body ended early")
		default:
			err = errors.New("transport: request body: read failed")
		}
	}
	return n, err
}

// faultText is what a fault tells a client of err, an error that is not
// a *Fault: its message with every socket address and file path taken
// out, as the client has no business learning either. A path keeps its
// last element, which is the part a caller can know (its file's name).
func faultText(err error) string {
	msg := err.Error()
	var walk func(error)
	walk = func(e error) {
		for e != nil {
			switch x := e.(type) {
			case *net.OpError:
				inner := "failed"
				if x.Err != nil {
					inner = quietErr(x.Err)
				}
				msg = strings.ReplaceAll(msg, x.Error(), x.Op+": "+inner)
			case *fs.PathError:
				msg = strings.ReplaceAll(msg, x.Error(), x.Op+" "+filepath.Base(x.Path)+": "+x.Err.Error())
			case *os.LinkError:
				msg = strings.ReplaceAll(msg, x.Error(), x.Op+" "+filepath.Base(x.Old)+" "+filepath.Base(x.New)+": "+x.Err.Error())
			}
			switch u := e.(type) {
			case interface{ Unwrap() []error }:
				for _, e := range u.Unwrap() {
					walk(e)
				}
				return
			case interface{ Unwrap() error }:
				e = u.Unwrap()
			default:
				return
			}
		}
	}
	walk(err)
	// An error formatted into another with %v (not wrapped) hides from
	// the walk: a connection's pair of addresses is taken out by its
	// shape, "host:port->host:port".
	return connPair.ReplaceAllString(msg, "[connection]")
}

// connPair matches a connection's local and remote addresses as net
// errors write them. Compiled once; a Regexp is safe for concurrent use
// and never changes.
var connPair = regexp.MustCompile(`(?:\[[0-9A-Fa-f:.%\w]+\]|[\w.-]+):\d+->(?:\[[0-9A-Fa-f:.%\w]+\]|[\w.-]+):\d+`)

// quietErr is the message of the error inside a *net.OpError, without
// the addresses a nested *net.OpError or *os.SyscallError may carry.
func quietErr(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	return err.Error()
}

// cut shortens a text a peer sent to at most max bytes, on a UTF-8
// boundary, marking the cut.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && i > max-4 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…[cut]"
}

// capReader fails once more than max bytes are read.
type capReader struct {
	r         io.Reader
	left, max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a reply of exactly max bytes from a
		// longer one.
		var one [1]byte
		if n, err := c.r.Read(one[:]); n == 0 {
			return 0, err
		}
		return 0, fmt.Errorf("transport: reply exceeds %d bytes", c.max)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
