package peertest

import (
	"io"
	"strconv"
	"testing"

	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/transporttest"
)

// wireTransport is the wire-codec network as a transport.Transport.
type wireTransport struct{ w *wireNet }

func (t wireTransport) Listen(url string, p transport.Peer) (io.Closer, error) {
	return t.w.listen(url, p)
}

func (t wireTransport) Dial(url string) (transport.Peer, error) { return t.w.dial(url) }

// TestWireCodecConformance runs the transport suite on WireCodec's way of
// carrying calls: the XML-RPC client and handler, without sockets.
func TestWireCodecConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) (transport.Transport, func() string) {
		n := 0
		return wireTransport{newWireNet(t)}, func() string {
			n++
			return URLPrefix + "node" + strconv.Itoa(n)
		}
	})
}
