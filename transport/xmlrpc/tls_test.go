package xmlrpc

import (
	"context"
	"crypto/x509"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/internal/testenv"
)

// TestXMLRPCTLS checks that a transport given a certificate serves an
// https:// URL, that a client trusting its CA reaches it, and that one
// that does not (the system pool, another CA) is refused.
func TestXMLRPCTLS(t *testing.T) {
	certs := testenv.MakeCerts(t)
	p := &fakePeer{files: map[string][]byte{"a.txt": []byte("over TLS")}}
	srv := New(Config{CertFile: certs.Cert, KeyFile: certs.Key})
	defer srv.Close()
	l, err := srv.Listen("https://127.0.0.1:0", p)
	require.NoError(t, err)
	defer l.Close()
	url := l.(interface{ URL() string }).URL()
	require.Regexp(t, `^https://127\.0\.0\.1:\d+$`, url)

	trusting := New(Config{RootCAs: certs.Pool})
	defer trusting.Close()
	body, err := dial(t, trusting, url).Query(context.Background(), "a.txt", nil)
	require.NoError(t, err)
	b, err := io.ReadAll(body)
	body.Close()
	require.NoError(t, err)
	require.Equal(t, "over TLS", string(b))
	require.NoError(t, dial(t, trusting, url).Hello(context.Background(), "https://127.0.0.1:1"))

	for name, pool := range map[string]*x509.CertPool{"system": nil, "other CA": testenv.MakeCerts(t).Pool} {
		tr := New(Config{RootCAs: pool})
		err := dial(t, tr, url).Hello(context.Background(), "https://127.0.0.1:1")
		tr.Close()
		var uerr x509.UnknownAuthorityError
		require.ErrorAs(t, err, &uerr, name)
	}
	// Plain HTTP to the TLS port is no call either.
	plain := New(Config{})
	defer plain.Close()
	require.Error(t, dial(t, plain, "http"+url[len("https"):]).Hello(context.Background(), "http://127.0.0.1:1"))
}

func TestXMLRPCListenHTTPSNeedsCert(t *testing.T) {
	tr := New(Config{})
	defer tr.Close()
	_, err := tr.Listen("https://127.0.0.1:0", &fakePeer{})
	require.ErrorContains(t, err, "CertFile")
	tr2 := New(Config{CertFile: "/nonexistent/cert.pem", KeyFile: "/nonexistent/key.pem"})
	defer tr2.Close()
	_, err = tr2.Listen("https://127.0.0.1:0", &fakePeer{})
	require.Error(t, err)
}
