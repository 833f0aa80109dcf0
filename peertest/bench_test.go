package peertest_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/filepeer/peer/peertest"
)

// BenchmarkBuildAndQuery10k builds a random 4-regular graph of 10,000
// nodes and resolves a query for a file exactly five hops away, the most
// the default history allows. Run it with -benchtime=1x: each iteration
// is a whole network, closed only when the benchmark ends. The node
// directories cost a mkdir each, which dominates on a slow disk; the tmpfs
// case shows the rest.
func BenchmarkBuildAndQuery10k(b *testing.B) {
	const k, d = 10_000, 4
	dirs := map[string][]peertest.Option{"tempdir": nil}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dirs["tmpfs"] = []peertest.Option{peertest.BaseDir("/dev/shm")}
	}
	for name, opts := range dirs {
		b.Run(name, func(b *testing.B) {
			var ms0, ms1 runtime.MemStats
			var build, query time.Duration
			hops := 0
			for i := 0; i < b.N; i++ {
				runtime.GC()
				runtime.ReadMemStats(&ms0)
				start := time.Now()
				net := peertest.RandomRegular(b, k, d, append(opts, peertest.Seed(uint64(i)), peertest.TraceLimit(1000))...)
				build += time.Since(start)
				runtime.ReadMemStats(&ms1)

				far := ""
				for node, h := range net.Reach("n0000") {
					if h == 5 {
						far = node
						break
					}
				}
				if far == "" {
					b.Fatal("no node five hops from n0000")
				}
				net.Node(far).Put("far.txt", "found")
				start = time.Now()
				got, err := net.Node("n0000").Query(b.Context(), "far.txt")
				query += time.Since(start)
				if err != nil || string(got) != "found" {
					b.Fatalf("query: %q, %v", got, err)
				}
				hops = net.Trace().MaxHop()
			}
			n := float64(b.N)
			b.ReportMetric(float64(build.Milliseconds())/n, "build-ms")
			b.ReportMetric(float64(query.Microseconds())/n, "query-µs")
			b.ReportMetric(float64(build.Nanoseconds())/n/k, "build-ns/node")
			b.ReportMetric(float64(ms1.HeapAlloc-ms0.HeapAlloc)/k, "heap-B/node")
			b.ReportMetric(float64(hops), "hops")
		})
	}
}

// BenchmarkLocalQuery measures queries a node answers from its own
// directory, from many goroutines: "direct" asks the node as its
// front-end does, "one-hop" has a node ask its peer over the in-memory
// transport; "peer.Node" is the baseline, the node called without
// peertest. Tracing is on unless the name says off.
func BenchmarkLocalQuery(b *testing.B) {
	for _, tc := range []struct {
		name  string
		from  string
		trace int
	}{
		{"peer.Node", "n1", -1},
		{"direct", "n1", 10_000},
		{"direct/trace-off", "n1", 0},
		{"one-hop", "n0", 10_000},
		{"one-hop/trace-off", "n0", 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			net := peertest.Line(b, 2, peertest.Directed(), peertest.TraceLimit(max(tc.trace, 0)))
			net.Node("n1").Put("f", "hello")
			// A shared file has usually sat there a while; one written in
			// the last two seconds is never cached (see peer's cache.go).
			old := time.Now().Add(-time.Hour)
			if err := os.Chtimes(filepath.Join(net.Node("n1").Dir(), "f"), old, old); err != nil {
				b.Fatal(err)
			}
			node := net.Node(tc.from)
			query := node.Query
			if tc.trace < 0 {
				// The baseline: the node itself, without peertest.
				p := node.Peer()
				query = func(ctx context.Context, name string) ([]byte, error) { return p.Query(ctx, name, nil) }
			}
			ctx := b.Context()
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := query(ctx, "f"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
		})
	}
}
