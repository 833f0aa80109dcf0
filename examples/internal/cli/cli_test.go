package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

func TestReadURLs(t *testing.T) {
	name := filepath.Join(t.TempDir(), "urls.txt")
	require.NoError(t, os.WriteFile(name, []byte("# peers\nhttp://a:1\n\n  http://b:2  \n#http://c:3\n"), 0o644))
	urls, err := ReadURLs(name)
	require.NoError(t, err)
	require.Equal(t, []string{"http://a:1", "http://b:2"}, urls)

	_, err = ReadURLs(filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "URL file")

	require.NoError(t, os.WriteFile(name, []byte("127.0.0.1:4242\nlocalhost:4243\n"), 0o644))
	urls, err = ReadURLs(name)
	require.NoError(t, err)
	require.Equal(t, []string{"http://127.0.0.1:4242", "http://localhost:4243"}, urls, "no scheme: http://")

	require.NoError(t, os.WriteFile(name, []byte("# peers\nhttp://a:1 http://b:2\nhttp://c:3\n\nhttp://[::1\n"), 0o644))
	_, err = ReadURLs(name)
	require.EqualError(t, err, "URL file: "+name+" line 2: 2 URLs on one line; write one URL a line\n"+
		name+` line 5: "http://[::1" is not a node's URL; give one such as http://127.0.0.1:4242`)

	var many bytes.Buffer
	for range 100 {
		many.WriteString("a b\n")
	}
	require.NoError(t, os.WriteFile(name, many.Bytes(), 0o644))
	_, err = ReadURLs(name)
	require.Equal(t, maxBadLines, bytes.Count([]byte(err.Error()), []byte("URLs on one line")))
}

func TestPeerURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4242":  "http://127.0.0.1:4242",
		" 127.0.0.1:4242 ":       "http://127.0.0.1:4242",
		"localhost:4260":         "http://localhost:4260",
		"[::1]:4242":             "http://[::1]:4242",
		"https://example.org/x":  "https://example.org/x",
		"mem://a":                "mem://a",
		"":                       "",
		"not a url":              "",
		"http://":                "",
		"http://127.0.0.1:42 42": "",
		"127.0.0.1:x:y/%zz":      "",
	} {
		got, err := PeerURL(in)
		if want == "" {
			require.Error(t, err, "%q", in)
			require.Contains(t, err.Error(), "http://127.0.0.1:4242", "the error shows a URL")
			continue
		}
		require.NoError(t, err, "%q", in)
		require.Equal(t, want, got)
	}
}

func TestExitCode(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, 0, ExitCode("p", nil, &out))
	require.Equal(t, 0, ExitCode("p", flag.ErrHelp, &out))
	require.Equal(t, 2, ExitCode("p", fmt.Errorf("bad: %w", ErrUsage), &out))
	require.Empty(t, out.String())
	require.Equal(t, 1, ExitCode("p", errors.New("boom"), &out))
	require.Equal(t, "p: boom\n", out.String())
}

func TestParse(t *testing.T) {
	newFS := func(out *bytes.Buffer) *flag.FlagSet {
		fs := flag.NewFlagSet("p", flag.ContinueOnError)
		fs.SetOutput(out)
		fs.Bool("v", false, "verbose")
		fs.Usage = func() { fmt.Fprintln(fs.Output(), "usage: p [-v] A B") }
		return fs
	}
	var out bytes.Buffer
	require.NoError(t, Parse(newFS(&out), []string{"-v", "a", "b"}, 2))
	require.Empty(t, out.String())
	require.ErrorIs(t, Parse(newFS(&out), []string{"a"}, 2), ErrUsage)
	require.Contains(t, out.String(), "usage: p")
	require.ErrorIs(t, Parse(newFS(&out), []string{"-x", "a", "b"}, 2), ErrUsage)
	require.ErrorIs(t, Parse(newFS(&out), []string{"-h"}, 2), flag.ErrHelp)
	require.NoError(t, Parse(newFS(&out), []string{"a", "b", "c"}, -1))
}

func TestReason(t *testing.T) {
	tr := xmlrpc.New(xmlrpc.Config{})
	defer tr.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	n, err := peer.New(peer.Config{URL: "http://127.0.0.1:1", Dir: t.TempDir(), Transport: tr})
	require.NoError(t, err)
	defer n.Close()
	err = n.Ping(context.Background(), dead)
	require.Error(t, err)
	require.Equal(t, "nothing is listening there", Reason(err))

	mem, err := peer.New(peer.Config{URL: "mem://a", Dir: t.TempDir(), Transport: transport.NewMemory()})
	require.NoError(t, err)
	defer mem.Close()
	require.Equal(t, "nothing is listening there", Reason(mem.Ping(context.Background(), "mem://b")))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Equal(t, "interrupted", Reason(fmt.Errorf("peer: fetch: %w", ctx.Err())))
	require.Equal(t, "no node on the network has it", Reason(peer.ErrUnhandled))
	require.Equal(t, "access denied", Reason(peer.ErrAccessDenied))
	require.Equal(t, "more than 16 words", Reason(fmt.Errorf("%w: more than 16 words", peer.ErrBadSearch)))
	require.Equal(t, "not a search any node can run", Reason(peer.ErrBadSearch))
	require.Equal(t, "no space left", Reason(errors.New(`peer: fetch "x": transport: no space left`)))
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 bytes", 1: "1 byte", 9999: "9999 bytes",
		20_000: "19.5 KiB (20000 bytes)", 3 << 30: "3.0 GiB (3221225472 bytes)",
	} {
		require.Equal(t, want, Size(n))
	}
}
