package libp2p_test

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/transport"
	p2p "github.com/filepeer/peer/transport/libp2p"
)

// benchSize is the file BenchmarkFetch moves: 256 MiB, of random bytes,
// which XML-RPC carries as base64 either way.
const benchSize = 256 << 20

func writeRandom(b *testing.B, path string, size int64) {
	b.Helper()
	f, err := os.Create(path)
	require.NoError(b, err)
	r := rand.NewChaCha8([32]byte{'f', 'i', 'l', 'e', 'p', 'e', 'e', 'r'})
	_, err = io.CopyN(f, r, size)
	require.NoError(b, err)
	require.NoError(b, f.Close())
}

// BenchmarkFetch256MiB fetches a 256 MiB file from the next node, over
// XML-RPC and over libp2p (TCP and QUIC) on loopback, side by side:
//
//	go test -run NONE -bench Fetch256MiB -benchtime 3x ./transport/libp2p
func BenchmarkFetch256MiB(b *testing.B) {
	xrURL := func(t testing.TB) string { return "http://" + freeAddr(t) }
	for _, c := range []struct {
		name     string
		tr       func(testing.TB) transport.Transport
		from, to func(testing.TB) string
	}{
		{"xmlrpc", func(t testing.TB) transport.Transport {
			xr := transport.NewXMLRPC(transport.XMLRPCConfig{CallTimeout: -1})
			t.Cleanup(func() { xr.Close() })
			return xr
		}, xrURL, xrURL},
		{"libp2p-tcp", nil, func(testing.TB) string { return tcpURL }, func(testing.TB) string { return tcpURL }},
		{"libp2p-quic", nil, func(testing.TB) string { return "libp2p:///ip4/127.0.0.1/udp/0/quic-v1" }, func(testing.TB) string { return "libp2p:///ip4/127.0.0.1/udp/0/quic-v1" }},
	} {
		b.Run(c.name, func(b *testing.B) {
			tr := func() transport.Transport {
				if c.tr != nil {
					return c.tr(b)
				}
				return newTransport(b, p2p.Config{CallTimeout: -1})
			}
			from := startNodeOnAny(b, tr(), c.from(b))
			to := startNodeOnAny(b, tr(), c.to(b))
			writeRandom(b, filepath.Join(from.dir, "big.bin"), benchSize)
			ctx := context.Background()
			require.NoError(b, to.Hello(ctx, from.URL()))
			b.SetBytes(benchSize)
			b.ResetTimer()
			for range b.N {
				require.NoError(b, to.Fetch(ctx, "big.bin", to.secret))
				b.StopTimer()
				fi, err := os.Stat(filepath.Join(to.dir, "big.bin"))
				require.NoError(b, err)
				require.Equal(b, int64(benchSize), fi.Size())
				require.NoError(b, os.Remove(filepath.Join(to.dir, "big.bin")))
				b.StartTimer()
			}
		})
	}
}
