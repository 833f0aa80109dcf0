package xmlrpc

import (
	"testing"

	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/transporttest"
)

func TestXMLRPCConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) (transport.Transport, func() string) {
		tr := New(Config{})
		t.Cleanup(func() { tr.Close() })
		return tr, func() string { return "http://127.0.0.1:0" }
	})
}
