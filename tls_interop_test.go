package peer_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// pyTLSClient calls a node with Python's ServerProxy over https,
// verifying the node's certificate with the CA in argv[1].
const pyTLSClient = `
import json, ssl, sys, xmlrpc.client
ctx = ssl.create_default_context(cafile=sys.argv[1])
p = xmlrpc.client.ServerProxy(sys.argv[2], context=ctx)
out = [p.query("tls.txt"), p.hello(sys.argv[2])]  # its own URL: 0, and not added
try:
    p.query("missing.txt")
except xmlrpc.client.Fault as f:
    out.append(f.faultCode)
try:
    xmlrpc.client.ServerProxy(sys.argv[2]).query("tls.txt")
except ssl.SSLError as e:
    out.append("unverified refused")
print(json.dumps(out))
`

// TestInteropPythonClientOverTLS checks that Python's
// ServerProxy("https://…") talks to a Go node serving https, with
// certificates made by the test, and that it refuses the node when it
// does not trust the CA; and that a Go node fetches from a Go https peer
// it trusts.
func TestInteropPythonClientOverTLS(t *testing.T) {
	py := python3(t)
	certs := testenv.MakeCerts(t)
	xr := xmlrpc.New(xmlrpc.Config{CertFile: certs.Cert, KeyFile: certs.Key, RootCAs: certs.Pool})
	t.Cleanup(func() { xr.Close() })
	g := startNode(t, xr, "https://127.0.0.1:0")
	require.True(t, strings.HasPrefix(g.URL(), "https://127.0.0.1:"))
	g.put(t, "tls.txt", "secret sauce")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", pyTLSClient, certs.CA, g.URL()).CombinedOutput()
	require.NoError(t, err, string(out))
	require.JSONEq(t, `["secret sauce", 0, 100, "unverified refused"]`, string(out))

	// A Go node fetches from it over https, verifying it.
	other := startNode(t, xr, "https://127.0.0.1:0")
	require.NoError(t, other.Hello(context.Background(), g.URL()))
	require.NoError(t, other.Fetch(context.Background(), "tls.txt", other.secret))
	b, err := os.ReadFile(filepath.Join(other.dir, "tls.txt"))
	require.NoError(t, err)
	require.Equal(t, "secret sauce", string(b))
}
