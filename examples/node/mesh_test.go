package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// meshSize is the queries issue's dense network of real processes: on the
// book's walk a miss in it did not end within a minute.
const meshSize = 30

// Thirty node processes that all know each other answer a miss with fault
// 100, each query handled once by each node, and find a file on any of
// them. The time a miss takes, and the CPU the processes spent (on
// Linux), are logged (go test -v -run Mesh), not asserted: the machine is
// shared.
func TestMeshOfProcesses(t *testing.T) {
	bin := testenv.Build(t, ".")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	urls, dirs := make([]string, meshSize), make([]string, meshSize)
	pids := make([]int, meshSize)
	for i := range meshSize {
		urls[i], dirs[i] = freeURL(t), shared(t, nil)
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, urls[i], dirs[i], "s3cret")
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		pids[i] = cmd.Process.Pid
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("node %s said:\n%s", urls[i], out.String())
			}
		})
	}
	for _, u := range urls {
		testenv.WaitListening(t, strings.TrimPrefix(u, "http://"), 30*time.Second)
	}
	tr := xmlrpc.New(xmlrpc.Config{})
	defer tr.Close()
	peers := make([]transport.Peer, meshSize)
	for i, u := range urls {
		p, err := tr.Dial(u)
		require.NoError(t, err)
		peers[i] = p
		for _, other := range urls {
			require.NoError(t, p.Hello(ctx, other))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dirs[i], "on-"+itoa(i)), []byte("held by "+u), 0o644))
	}

	for round := range 3 {
		start, cpu := time.Now(), cpuOf(pids)
		_, err := peers[0].Query(ctx, "nowhere.txt", nil)
		t.Logf("miss %d in a full mesh of %d processes: %v, %v of CPU", round, meshSize, time.Since(start), cpuOf(pids)-cpu)
		require.ErrorIs(t, err, peer.ErrUnhandled)
	}
	start, cpu := time.Now(), cpuOf(pids)
	for i := range meshSize {
		body, err := peers[(i+1)%meshSize].Query(ctx, "on-"+itoa(i), nil)
		require.NoError(t, err, "the file on node %d", i)
		var got bytes.Buffer
		_, err = got.ReadFrom(body)
		body.Close()
		require.NoError(t, err)
		require.Equal(t, "held by "+urls[i], got.String())
	}
	t.Logf("%d hits, each one hop away: %v, %v of CPU", meshSize, time.Since(start), cpuOf(pids)-cpu)
}

// cpuOf returns the CPU time the processes pids have used so far, user
// and system, as Linux's /proc tells it (in ticks of 10 ms); 0 where it
// cannot tell.
func cpuOf(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			return 0
		}
		// The fields after the command's name, which is in parentheses
		// and may hold spaces: utime and stime are the 12th and 13th.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			return 0
		}
		for _, v := range f[11:13] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0
			}
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

func itoa(i int) string { return string(rune('a'+i/26)) + string(rune('a'+i%26)) }

// Node processes and a Python book node in one network: a search (the
// filepeer.search a front-end would call, over XML-RPC) finds the file
// on every node process in reach, and not on the Python node, which
// cannot search and is passed over, nor behind it; queries through the
// Python node still work.
func TestSearchAcrossProcesses(t *testing.T) {
	python := testenv.Tool(t, "python3")
	bin := testenv.Build(t, ".")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := func(argv ...string) {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("%v said:\n%s", argv, out.String())
			}
		})
		testenv.WaitListening(t, strings.TrimPrefix(argv[len(argv)-3], "http://"), 30*time.Second)
	}
	// a, b, c are node processes; p is a Python node; a knows b and p,
	// b knows c, p knows d (a node process only p leads to).
	urls := map[string]string{}
	dirs := map[string]string{}
	for _, name := range []string{"a", "b", "c", "d", "p"} {
		urls[name], dirs[name] = freeURL(t), shared(t, nil)
		p := filepath.Join(dirs[name], "song of "+name+".ogg")
		require.NoError(t, os.WriteFile(p, []byte("la la "+name), 0o644))
		old := time.Now().Add(-time.Hour)
		require.NoError(t, os.Chtimes(p, old, old))
		if name == "p" {
			start(python, "../../testdata/pynode.py", urls[name], dirs[name], "py secret")
		} else {
			start(bin, urls[name], dirs[name], "s3cret")
		}
	}
	tr := xmlrpc.New(xmlrpc.Config{})
	defer tr.Close()
	dial := func(name string) transport.Peer {
		p, err := tr.Dial(urls[name])
		require.NoError(t, err)
		return p
	}
	for _, l := range [][2]string{{"a", "b"}, {"a", "p"}, {"b", "c"}, {"p", "d"}} {
		require.NoError(t, dial(l[0]).Hello(ctx, urls[l[1]]))
	}

	v, err := dial("a").(transport.Caller).Call(ctx, "filepeer.search", "SONG ogg", []string{}, "search-1", 100)
	require.NoError(t, err)
	var holders []string
	for _, h := range v.([]any) {
		hit := h.(map[string]any)
		holders = append(holders, hit["peer"].(string))
		require.Contains(t, hit["name"], "song of")
	}
	require.ElementsMatch(t, []string{urls["a"], urls["b"], urls["c"]}, holders)

	body, err := dial("a").Query(ctx, "song of d.ogg", nil)
	require.NoError(t, err, "a query crosses the Python node")
	var got bytes.Buffer
	_, err = got.ReadFrom(body)
	body.Close()
	require.NoError(t, err)
	require.Equal(t, "la la d", got.String())
}
