package libp2p_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	p2p "github.com/filepeer/peer/transport/libp2p"
)

// A stream that carries no HTTP gets an HTTP error and is closed; the
// node serves on.
func TestGarbageStream(t *testing.T) {
	a := startNode(t, "")
	put(t, a.dir, "f.txt", []byte("still here"))
	c := newTransport(t, p2p.Config{})
	addr, id, err := p2p.ParseURL(a.URL())
	require.NoError(t, err)
	c.Host().Peerstore().AddAddr(id, addr, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, junk := range []string{
		"\x00\x01\x02 not http at all\r\n\r\n",
		"GET /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /elsewhere HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n<garbage>",
	} {
		s, err := c.Host().NewStream(ctx, id, p2p.ProtocolID)
		require.NoError(t, err)
		require.NoError(t, s.SetDeadline(time.Now().Add(30*time.Second)))
		_, err = io.WriteString(s, junk)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(s), nil)
		require.NoError(t, err, "%q gets an HTTP answer", junk)
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		s.Reset()
		if resp.StatusCode == http.StatusOK {
			require.Contains(t, string(body), "<fault>", "%q", junk)
		} else {
			require.GreaterOrEqual(t, resp.StatusCode, 400, "%q", junk)
		}
	}
	q := startNode(t, "")
	require.NoError(t, q.Hello(ctx, a.URL()))
	b, err := q.Query(ctx, "f.txt", nil)
	require.NoError(t, err)
	require.Equal(t, "still here", string(b))
}

// Many calls at once to one peer share its connection as streams.
func TestConcurrentCalls(t *testing.T) {
	a := startNode(t, "")
	for i := range 20 {
		put(t, a.dir, fmt.Sprintf("f%d.bin", i), append([]byte{byte(i)}, allBytes...))
	}
	c := newTransport(t, p2p.Config{})
	p, err := c.Dial(a.URL())
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			name := fmt.Sprintf("f%d.bin", i%20)
			body, err := p.Query(context.Background(), name, nil)
			if err != nil {
				errs <- err
				return
			}
			defer body.Close()
			got, err := io.ReadAll(body)
			if err == nil && (len(got) != 257 || got[0] != byte(i%20)) {
				err = fmt.Errorf("%s: wrong bytes", name)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, c.Host().Network().Conns(), 1, "one connection carries them all")
}
