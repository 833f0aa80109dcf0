package peer_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// A 1 GiB binary file fetched across three hops (A asks B asks C asks D)
// between real node processes: every node's peak RSS stays under 64 MiB,
// which no node could do if it held the file, and the bytes arrive intact.
func TestBigFileAcrossThreeHopsInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 1 GiB through four processes; not in -short")
	}
	const size = 1 << 30
	const maxRSS = 64 << 20
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	tmp := t.TempDir()
	bin := testenv.Build(t, "./examples/node")

	dirs := make([]string, 4)
	urls := make([]string, 4)
	procs := make([]*exec.Cmd, 4)
	for i := range dirs {
		dirs[i] = filepath.Join(tmp, fmt.Sprint("node", i))
		require.NoError(t, os.Mkdir(dirs[i], 0o755))
	}
	want := writeRandomFile(t, filepath.Join(dirs[3], "big.bin"), size)

	for i := range procs {
		urls[i] = "http://" + testenv.FreeAddr(t)
		cmd := exec.CommandContext(ctx, bin, urls[i], dirs[i], "big-secret")
		cmd.Stderr = os.Stderr
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 10 * time.Second
		require.NoError(t, cmd.Start())
		procs[i] = cmd
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		})
	}
	tr := xmlrpc.New(xmlrpc.Config{CallTimeout: -1})
	defer tr.Close()
	peers := make([]transport.Peer, 4)
	for i, u := range urls {
		testenv.WaitListening(t, strings.TrimPrefix(u, "http://"), 10*time.Second)
		p, err := tr.Dial(u)
		require.NoError(t, err)
		peers[i] = p
	}
	for i := range 3 {
		require.NoError(t, peers[i].Hello(ctx, urls[i+1]))
	}

	start := time.Now()
	require.NoError(t, peers[0].Fetch(ctx, "big.bin", "big-secret"))
	elapsed := time.Since(start)

	for i, cmd := range procs {
		rss := peakRSS(t, cmd.Process.Pid)
		t.Logf("node %d: peak RSS %.1f MiB", i, float64(rss)/(1<<20))
		require.Less(t, rss, int64(maxRSS), "node %d holds too much of the file", i)
	}
	got := hashFile(t, filepath.Join(dirs[0], "big.bin"))
	require.Equal(t, want, got, "the fetched bytes differ")
	t.Logf("1 GiB across 3 hops in %v (%.0f MB/s)", elapsed.Round(time.Millisecond), size/elapsed.Seconds()/1e6)
}

// writeRandomFile writes size bytes that no compressor or dedup could
// shrink, and returns their SHA-256.
func writeRandomFile(t *testing.T, name string, size int) [32]byte {
	t.Helper()
	f, err := os.Create(name)
	require.NoError(t, err)
	defer f.Close()
	block := make([]byte, 1<<20)
	seed := sha256.Sum256([]byte("filepeer"))
	for i := 0; i < len(block); i += len(seed) {
		seed = sha256.Sum256(seed[:])
		copy(block[i:], seed[:])
	}
	h := sha256.New()
	w := io.MultiWriter(f, h)
	for i := 0; i < size; i += len(block) {
		// Each block differs from the last in its first bytes.
		copy(block, strconv.Itoa(i))
		_, err := w.Write(block[:min(len(block), size-i)])
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	return [32]byte(h.Sum(nil))
}

func hashFile(t *testing.T, name string) [32]byte {
	t.Helper()
	f, err := os.Open(name)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return [32]byte(h.Sum(nil))
}

// peakRSS reads a process's high-water mark of resident memory (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
