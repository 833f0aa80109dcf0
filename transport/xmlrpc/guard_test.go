package xmlrpc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/transport"
)

// closeCounter is a body that counts its Close calls.
type closeCounter struct {
	io.ReadSeeker
	closed *atomic.Int32
}

func (c closeCounter) Close() error { c.closed.Add(1); return nil }

// rawCall sends a query for name on a new connection and returns the
// connection, unread.
func rawCall(t *testing.T, url, name string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	body, err := encodeCall("query", name)
	require.NoError(t, err)
	fmt.Fprintf(c, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	return c
}

// TestXMLRPCStalledReaderIsCutOff checks the first row: a client
// that asks for a large file and never reads is cut off once the reply
// makes no progress for ReplyStallTimeout, and the reply's body (its
// file, its descriptor) is closed. Before, nothing ended such a reply.
func TestXMLRPCStalledReaderIsCutOff(t *testing.T) {
	content := bytes.Repeat([]byte("stall "), 4<<20) // 24 MiB: more than socket buffers hold
	var closed atomic.Int32
	p := &fakePeer{query: func(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
		return closeCounter{bytes.NewReader(content), &closed}, nil
	}}
	_, url := serve(t, p, Config{ReplyStallTimeout: 100 * time.Millisecond})
	const clients = 4
	for range clients {
		rawCall(t, url, "big")
	}
	require.Eventually(t, func() bool { return closed.Load() == clients }, 20*time.Second, 10*time.Millisecond,
		"stalled replies still open")
}

// TestXMLRPCConnsPerAddr checks that connections over MaxConnsPerAddr
// from one address are closed at once, while those under it are served.
func TestXMLRPCConnsPerAddr(t *testing.T) {
	p := &fakePeer{files: map[string][]byte{"a": []byte("A")}}
	_, url := serve(t, p, Config{MaxConnsPerAddr: 2})
	addr := strings.TrimPrefix(url, "http://")
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		held = append(held, c)
	}
	// The server takes the two in turn; a third is closed unread.
	extra, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer extra.Close()
	extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = extra.Read(make([]byte, 1))
	require.Error(t, err)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the connection over the cap was not closed: %v", err)

	// Those within the cap are served.
	body, _ := encodeCall("query", "a")
	fmt.Fprintf(held[0], "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(held[0]), nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	require.Contains(t, string(b), "<string>A</string>")

	// Closing one frees its place.
	held[1].Close()
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer c.Close()
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		return err == nil && resp.StatusCode == 200
	}, 10*time.Second, 20*time.Millisecond)
}

// TestXMLRPCDeclaredLengthOverCap checks the row of a request
// declaring 2,000,000,000 bytes with a small body: it is refused at once
// with a fault that names no socket address, where it was held until the
// read timeout.
func TestXMLRPCDeclaredLengthOverCap(t *testing.T) {
	_, url := serve(t, &fakePeer{}, Config{})
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprintf(c, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\n\r\n<methodCall>")
	// A guard against a hang, far below the server's 30s read timeout.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(b), "exceeds the cap")
	require.NotContains(t, string(b), "127.0.0.1")
}

// TestXMLRPCFaultsNameNoAddresses checks that a request whose body times
// out gets a fault without the server's socket addresses.
func TestXMLRPCFaultsNameNoAddresses(t *testing.T) {
	_, url := serve(t, &fakePeer{}, Config{ReadTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprintf(c, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<methodCall>")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	require.Contains(t, string(b), "faultString")
	require.NotContains(t, string(b), "127.0.0.1")
}

func TestFaultText(t *testing.T) {
	op := &net.OpError{Op: "read", Net: "tcp",
		Source: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 4242},
		Addr:   &net.TCPAddr{IP: net.IPv4(10, 9, 9, 9), Port: 5555},
		Err:    os.ErrDeadlineExceeded}
	pe := &fs.PathError{Op: "open", Path: "/srv/secret/share/.filepeer-tmp-1", Err: errors.New("no space left on device")}
	le := &os.LinkError{Op: "link", Old: "/srv/secret/share/a", New: "/srv/secret/share/b", Err: fs.ErrExist}
	for _, err := range []error{
		fmt.Errorf("peer: fetch %q: %w", "x", op),
		fmt.Errorf("peer: fetch %q: %w", "x", pe),
		fmt.Errorf("peer: fetch: %w", errors.Join(fmt.Errorf("a: %w", op), fmt.Errorf("b: %w", pe), le)),
	} {
		msg := faultText(err)
		require.NotContains(t, msg, "10.1.2.3")
		require.NotContains(t, msg, "10.9.9.9")
		require.NotContains(t, msg, "/srv")
		require.Contains(t, msg, "peer: fetch")
	}
	require.Contains(t, faultText(fmt.Errorf("w: %w", pe)), ".filepeer-tmp-1: no space left on device")
	require.Equal(t, "plain", faultText(errors.New("plain")))
	// Formatted with %v, so not in the chain: the chaos test saw this.
	hidden := fmt.Errorf("transport: query http://10.213.1.2:4242: stalled (%v)", errors.New("read tcp 10.213.1.1:50428->10.213.1.2:4242: use of closed network connection"))
	require.Equal(t, "transport: query http://10.213.1.2:4242: stalled (read tcp [connection]: use of closed network connection)", faultText(hidden))
	require.Equal(t, "x [connection] y", faultText(errors.New("x [::1]:5->[fe80::1%eth0]:80 y")))
}

// faultServer answers every call with a fault whose string is n bytes.
func faultServer(t *testing.T, n int) string {
	return rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, "<?xml version='1.0'?><methodResponse><fault><value><struct>"+
			"<member><name>faultCode</name><value><int>1</int></value></member>"+
			"<member><name>faultString</name><value><string>")
		chunk := strings.Repeat("é", 512) // two bytes each
		for left := n; left > 0; left -= len(chunk) {
			if _, err := io.WriteString(w, chunk[:min(left, len(chunk))]); err != nil {
				return
			}
		}
		io.WriteString(w, "</string></value></member></struct></value></fault></methodResponse>")
	})
}

// TestXMLRPCFaultStringBounded checks the row of a 60 MB
// faultString: the client refuses a fault reply over 64 KiB as soon as it
// passes that, and keeps at most MaxFaultString bytes of a smaller one.
func TestXMLRPCFaultStringBounded(t *testing.T) {
	tr := New(Config{})
	defer tr.Close()

	_, err := dial(t, tr, faultServer(t, 60<<20)).Query(context.Background(), "x", nil)
	require.Error(t, err)
	require.ErrorContains(t, err, "fault larger than")
	require.Less(t, len(err.Error()), 8<<10)

	_, err = dial(t, tr, faultServer(t, 20<<10)).Query(context.Background(), "x", nil)
	var f *transport.Fault
	require.ErrorAs(t, err, &f)
	require.LessOrEqual(t, len(f.Message), MaxFaultString+len("…[cut]"))
	require.True(t, strings.HasSuffix(f.Message, "é…[cut]"), "cut inside a character")
}

// callerPeer records the caller address of its hellos.
type callerPeer struct {
	fakePeer
	got chan netip.Addr
}

func (p *callerPeer) Hello(ctx context.Context, url string) error {
	a, _ := transport.CallerAddr(ctx)
	p.got <- a
	return nil
}

func TestXMLRPCCallerAddr(t *testing.T) {
	p := &callerPeer{got: make(chan netip.Addr, 1)}
	tr, url := serve(t, p, Config{})
	require.NoError(t, dial(t, tr, url).Hello(context.Background(), "http://127.0.0.1:1"))
	require.Equal(t, netip.MustParseAddr("127.0.0.1"), <-p.got)

	_, ok := transport.CallerAddr(context.Background())
	require.False(t, ok)
}

// TestRefuseNonPeerAddr checks the dialer's last line: the addresses a
// host name might resolve to that no peer can have. It calls the check
// directly; nothing is dialled.
func TestRefuseNonPeerAddr(t *testing.T) {
	for _, a := range []string{"169.254.169.254:80", "[fe80::1]:80", "0.0.0.0:1", "[::]:1", "224.0.0.1:1", "[ff02::1]:1", "255.255.255.255:1", "[::ffff:169.254.169.254]:80"} {
		require.ErrorIs(t, refuseNonPeerAddr("tcp4", a, nil), errNonPeerAddr, a)
	}
	for _, a := range []string{"127.0.0.1:4242", "[::1]:4242", "10.1.2.3:80", "192.168.1.1:80"} {
		require.NoError(t, refuseNonPeerAddr("tcp", a, nil), a)
	}
}
