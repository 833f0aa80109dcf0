package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/examples/internal/cli"
	"github.com/filepeer/peer/examples/internal/hold"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// freeURL returns the URL of a loopback port that was free a moment ago
// and has not been handed out before in this test process.
func freeURL(t *testing.T) string { return "http://" + testenv.FreeAddr(t) }

// shared returns a new directory holding files, an hour old: a node
// hashes only files left alone for a while.
func shared(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		require.NoError(t, os.Chtimes(p, old, old))
	}
	return dir
}

// fixture is a page and its node, on an in-memory network where the test
// starts the node's peers.
type fixture struct {
	mem  *transport.Memory
	node *peer.Node
	dir  string
	page *server
	srv  *httptest.Server // the page, on loopback
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	f := &fixture{mem: transport.NewMemory(), dir: shared(t, files)}
	m := newMeter()
	n, err := peer.New(peer.Config{URL: "mem://page", Dir: f.dir, Secret: "s3cret", Transport: f.mem, FetchProgress: m.FetchProgress})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	require.NoError(t, n.Start())
	root, err := os.OpenRoot(f.dir)
	require.NoError(t, err)
	t.Cleanup(func() { root.Close() })
	f.node = n
	f.page = newServer(n, "s3cret", root, f.mem, m)
	t.Cleanup(f.page.Close)
	f.srv = httptest.NewServer(f.page.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// peer starts a node at url on the fixture's network, holding files,
// hashed so that it vouches for them.
func (f *fixture) peer(t *testing.T, url string, files map[string]string) {
	t.Helper()
	f.peerOn(t, f.mem, url, files)
}

// peerOn is peer on tr, which must reach the fixture's network.
func (f *fixture) peerOn(t *testing.T, tr transport.Transport, url string, files map[string]string) {
	t.Helper()
	n, err := peer.New(peer.Config{URL: url, Dir: shared(t, files), Secret: "other", Transport: tr})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	require.NoError(t, n.Start())
	require.NoError(t, n.Index(context.Background()))
}

// noRedirects is a client that shows the redirects it is sent.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (f *fixture) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := f.srv.Client().Get(f.srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

func (f *fixture) post(t *testing.T, path string, form url.Values, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := noRedirects.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

// act posts a form, waits for the fetches it started, and returns the page
// the browser is sent to.
func (f *fixture) act(t *testing.T, path string, form url.Values) string {
	t.Helper()
	resp := f.post(t, path, form, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	f.page.fetches.Wait()
	return f.get(t, resp.Header.Get("Location"))
}

// status returns the status line of the page with the id, as HTML.
func status(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `<p id="`+id+`"`)
	require.GreaterOrEqual(t, i, 0, "no #%s in %s", id, page)
	j := strings.Index(page[i:], "</p>")
	require.GreaterOrEqual(t, j, 0)
	return page[i : i+j+len("</p>")]
}

func TestPage(t *testing.T) {
	f := newFixture(t, map[string]string{"<b>bold<b> & co.txt": "x"})
	f.peer(t, "mem://other", map[string]string{"test.txt": "This is a test\n"})

	body := f.get(t, "/")
	require.Contains(t, body, "&lt;b&gt;bold&lt;b&gt; &amp; co.txt", "names are escaped")
	require.NotContains(t, body, "<b>bold")
	require.Contains(t, body, `<p id="fetch-status" role="status" class="status"></p>`)

	body = f.act(t, "/fetch", url.Values{"name": {"test.txt"}})
	require.Contains(t, status(t, body, "fetch-status"), `class="status error"`)
	require.Contains(t, status(t, body, "fetch-status"), "Couldn&#39;t find test.txt: no peer on the network has it.</p>")

	body = f.act(t, "/hello", url.Values{"url": {"mem://other"}})
	require.Contains(t, body, `<li>mem://other <span class="state">answering</span></li>`)
	require.Equal(t, `<p id="hello-status" role="status" class="status ok">Added mem://other: it answers.</p>`, status(t, body, "hello-status"))

	body = f.act(t, "/fetch", url.Values{"name": {" test.txt "}})
	require.Contains(t, status(t, body, "fetch-status"), `class="status ok" data-id=`)
	require.Contains(t, status(t, body, "fetch-status"), ">Fetched test.txt: 15 bytes, checked against its SHA-256, from 1 holder.</p>")
	require.Contains(t, body, "<li>test.txt</li>")
	got, err := os.ReadFile(filepath.Join(f.dir, "test.txt"))
	require.NoError(t, err)
	require.Equal(t, "This is a test\n", string(got))

	// Download tells a file already here from one fetched.
	body = f.act(t, "/fetch", url.Values{"name": {"test.txt"}})
	require.Contains(t, status(t, body, "fetch-status"), `class="status info"`)
	require.Contains(t, status(t, body, "fetch-status"), ">test.txt is already here: nothing to fetch.</p>")

	body = f.act(t, "/fetch", url.Values{"name": {"../etc/passwd"}})
	require.Contains(t, status(t, body, "fetch-status"), "Access denied: ../etc/passwd would lead out of the shared directory.")
	require.NoError(t, os.Mkdir(filepath.Join(f.dir, "sub"), 0o755))
	body = f.act(t, "/fetch", url.Values{"name": {"sub"}})
	require.Contains(t, status(t, body, "fetch-status"), ">Couldn&#39;t fetch sub: a directory of that name is in the shared directory.</p>")
	body = f.act(t, "/fetch", url.Values{"name": {"  "}})
	require.Contains(t, status(t, body, "fetch-status"), "Type the name of a file to fetch.")
}

// TestAddPeer: errors of "Add peer" are shown beside its form, in words,
// and a peer that does not answer is not shown as a success.
func TestAddPeer(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct{ typed, kind, text string }{
		{"not a url", "error", `&#34;not a url&#34; is not a node&#39;s URL; give one such as http://127.0.0.1:4242.`},
		{"", "error", "No URL given; give one such as http://127.0.0.1:4242."},
		{"mem://page", "error", "mem://page is this node&#39;s own URL."},
		{"mem://dead", "warn", "Added mem://dead, but it does not answer: nothing is listening there. The node will try it when it next asks its peers."},
		{"127.0.0.1:4242", "warn", "Added http://127.0.0.1:4242, but it does not answer"},
	} {
		body := f.act(t, "/hello", url.Values{"url": {tc.typed}})
		line := status(t, body, "hello-status")
		require.Contains(t, line, `class="status `+tc.kind+`"`, "%q", tc.typed)
		require.Contains(t, line, tc.text, "%q", tc.typed)
		require.NotContains(t, line, "peer:", "%q", tc.typed)
		require.NotContains(t, line, "transport:", "%q", tc.typed)
		require.Equal(t, `<p id="fetch-status" role="status" class="status"></p>`, status(t, body, "fetch-status"), "not under the Fetch box")
	}
	require.Equal(t, []string{"http://127.0.0.1:4242", "mem://dead"}, f.node.Known(), "kept, as the client keeps them")
}

// TestOwnStatus: a browser sees the results of its own actions only, and
// each form keeps the other's result.
func TestOwnStatus(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.post(t, "/fetch", url.Values{"name": {"nothing.txt"}}, nil)
	f.page.fetches.Wait()
	first := resp.Header.Get("Location")
	require.Contains(t, f.get(t, first), "Couldn&#39;t find nothing.txt")

	other := f.get(t, "/") // a second browser
	require.NotContains(t, other, "nothing.txt")
	require.NotContains(t, f.get(t, "/?fetch=forged&hello=forged"), "nothing.txt")

	// The first browser adds a peer: its fetch's result stays beside Fetch.
	id := strings.TrimPrefix(first, "/?fetch=")
	body := f.act(t, "/hello", url.Values{"url": {"mem://dead"}, "fetch": {id}})
	require.Contains(t, status(t, body, "fetch-status"), "Couldn&#39;t find nothing.txt")
	require.Contains(t, status(t, body, "hello-status"), "Added mem://dead, but")
}

// gate is a peer whose big.bin sends its first part at once and the rest
// only once the test opens the gate.
type gate struct {
	open  chan struct{}
	once  sync.Once
	asked chan struct{} // closed by the first query for big.bin
}

const firstPart = 20_000

func newGate() *gate { return &gate{open: make(chan struct{}), asked: make(chan struct{})} }

func (g *gate) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	if name != "big.bin" {
		return nil, &peer.Fault{Code: peer.Unhandled, Message: "Couldn't handle the query"}
	}
	g.once.Do(func() { close(g.asked) })
	return &gatedBody{ctx: ctx, g: g, first: strings.NewReader(strings.Repeat("x", firstPart)), rest: strings.NewReader("end\n")}, nil
}

func (*gate) Hello(context.Context, string) error { return nil }

func (*gate) Fetch(context.Context, string, string) error {
	return &peer.Fault{Code: peer.AccessDenied, Message: "Access denied"}
}

type gatedBody struct {
	ctx         context.Context
	g           *gate
	first, rest *strings.Reader
}

func (b *gatedBody) Read(p []byte) (int, error) {
	if b.first.Len() > 0 {
		return b.first.Read(p)
	}
	select {
	case <-b.g.open:
		return b.rest.Read(p)
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	}
}

func (*gatedBody) Close() error { return nil }

// progressOf polls the page's JSON for a fetch, as the page's script does,
// until cond holds; at most 10 s, and 1000 tries.
func (f *fixture) progressOf(t *testing.T, id string, cond func(result) bool) result {
	t.Helper()
	var last result
	deadline := time.Now().Add(10 * time.Second)
	for range 1000 {
		resp, err := f.srv.Client().Get(f.srv.URL + "/fetches/" + id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		err = json.NewDecoder(resp.Body).Decode(&last)
		resp.Body.Close()
		require.NoError(t, err)
		if cond(last) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return last
}

// TestFetchInNode: the fetch runs in the node, not in the request: the
// page answers at once, tells the progress, and the fetch ends once the
// request is long gone.
func TestFetchInNode(t *testing.T) {
	f := newFixture(t, nil)
	g := newGate()
	l, err := f.mem.Listen("mem://gate", g)
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, f.node.Hello(context.Background(), "mem://gate"))

	// On a page that fetched in the request, this would wait for the gate
	// until the test's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/fetch", strings.NewReader("name=big.bin"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := noRedirects.Do(req)
	require.NoError(t, err, "the page answers while the fetch runs")
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/?fetch=")
	<-g.asked

	page := f.get(t, "/?fetch="+id)
	require.Contains(t, status(t, page, "fetch-status"), `class="status running"`)
	require.Contains(t, status(t, page, "fetch-status"), `data-running="true"`)
	soFar := f.progressOf(t, id, func(r result) bool { return strings.Contains(r.Text, "so far") })
	require.Equal(t, result{ID: id, Running: true, Text: "Downloading big.bin… 19.5 KiB (20000 bytes) so far"}, soFar)

	// A second Fetch of the same file joins the first.
	resp = f.post(t, "/fetch", url.Values{"name": {"big.bin"}}, nil)
	require.Equal(t, "/?fetch="+id, resp.Header.Get("Location"))

	close(g.open)
	f.page.fetches.Wait()
	require.Equal(t, result{ID: id, Text: "Fetched big.bin from a node that cannot vouch for it (not verified).", Kind: "warn"}, f.progressOf(t, id, func(result) bool { return true }))
	got, err := os.ReadFile(filepath.Join(f.dir, "big.bin"))
	require.NoError(t, err)
	require.Equal(t, firstPart+len("end\n"), len(got))

	resp, err = f.srv.Client().Get(f.srv.URL + "/fetches/nope")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// TestCloseStopsFetches: closing the page ends the fetches it runs.
func TestCloseStopsFetches(t *testing.T) {
	f := newFixture(t, nil)
	g := newGate()
	l, err := f.mem.Listen("mem://gate", g)
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, f.node.Hello(context.Background(), "mem://gate"))
	resp := f.post(t, "/fetch", url.Values{"name": {"big.bin"}}, nil)
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/?fetch=")
	<-g.asked
	f.page.Close()
	res := f.page.result(id)
	require.False(t, res.Running)
	require.Equal(t, "error", res.Kind)
	require.Contains(t, res.Text, "Couldn't fetch big.bin: interrupted")
}

func TestPageRefuses(t *testing.T) {
	f := newFixture(t, nil)
	fetch := url.Values{"name": {"test.txt"}}

	resp := f.post(t, "/fetch", fetch, http.Header{"Sec-Fetch-Site": {"cross-site"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a POST from another site")
	resp = f.post(t, "/fetch", fetch, http.Header{"Origin": {"http://evil.example"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a POST from another origin")

	req, err := http.NewRequest("GET", f.srv.URL+"/", nil)
	require.NoError(t, err)
	req.Host = "evil.example:8080"
	resp, err = noRedirects.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, "a rebound DNS name")

	resp, err = noRedirects.Get(f.srv.URL + "/fetch?name=test.txt")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "GET changes nothing")
	resp, err = noRedirects.Get(f.srv.URL + "/nothing")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	f.page.fetches.Wait()
	f.page.mu.Lock()
	require.Empty(t, f.page.results, "no refused request ran")
	f.page.mu.Unlock()
	entries, err := os.ReadDir(f.dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// TestResultsBounded: a page left open for long keeps a bounded number of
// results.
func TestResultsBounded(t *testing.T) {
	f := newFixture(t, nil)
	var first string
	for i := range maxResults + 50 {
		res := f.page.add(&result{Text: "x", Kind: "error"})
		if i == 0 {
			first = res.ID
		}
	}
	f.page.mu.Lock()
	defer f.page.mu.Unlock()
	require.Len(t, f.page.results, maxResults)
	require.Len(t, f.page.order, maxResults)
	require.NotContains(t, f.page.results, first, "the oldest goes first")
}

func TestRun(t *testing.T) {
	for name, args := range map[string]func(urls, dir, url string) []string{
		"the book's arguments": func(urls, dir, url string) []string { return []string{"-listen", "127.0.0.1:0", urls, dir, url} },
		"flags": func(urls, dir, url string) []string {
			return []string{"-urls", urls, "-dir", dir, "-url", strings.TrimPrefix(url, "http://"), "-listen", "127.0.0.1:0"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			urls := filepath.Join(t.TempDir(), "urls.txt")
			require.NoError(t, os.WriteFile(urls, []byte("# none\n"), 0o644))
			url := freeURL(t)
			addr := make(chan string, 1)
			done := make(chan error, 1)
			var log bytes.Buffer
			go func() {
				done <- run(ctx, args(urls, t.TempDir(), url), env{stderr: &log, listening: func(a string) { addr <- a }})
			}()
			select {
			case a := <-addr:
				resp, err := http.Get("http://" + a + "/")
				require.NoError(t, err)
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)
				require.Contains(t, string(body), "Fetch</button>")
				require.Contains(t, string(body), "<code>"+url+"</code>")
			case err := <-done:
				t.Fatalf("run: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("the page is not served")
			}
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("run did not stop")
			}
			require.Contains(t, log.String(), "web page ready")
		})
	}
}

func TestBadArguments(t *testing.T) {
	dir := t.TempDir()
	urls := filepath.Join(t.TempDir(), "urls.txt")
	require.NoError(t, os.WriteFile(urls, nil, 0o644))
	for name, args := range map[string][]string{
		"none":         nil,
		"no dir":       {"-url", "http://127.0.0.1:4243"},
		"no url":       {"-dir", dir},
		"extra":        {"-url", "http://127.0.0.1:4243", "-dir", dir, "extra"},
		"two":          {urls, dir},
		"unknown flag": {"-x"},
		"-urls alone":  {"-urls", urls, dir, "http://127.0.0.1:4243"},
		"not loopback": {"-url", "http://127.0.0.1:4243", "-dir", dir, "-listen", "0.0.0.0:8080"},
		"no port":      {"-url", "http://127.0.0.1:4243", "-dir", dir, "-listen", "127.0.0.1"},
		"bad URL":      {urls, dir, "http://a b"},
	} {
		t.Run(name, func(t *testing.T) {
			var errOut bytes.Buffer
			err := run(context.Background(), args, env{stderr: &errOut})
			require.ErrorIs(t, err, cli.ErrUsage)
			require.Equal(t, 2, cli.ExitCode("web", err, io.Discard))
			require.Contains(t, errOut.String(), "usage: web [-v] [-listen 127.0.0.1:8080] URLFILE DIR URL")
		})
	}
	err := run(context.Background(), []string{"-url", freeURL(t), "-dir", dir, "-urls", filepath.Join(dir, "nope")}, env{stderr: io.Discard})
	var errOut bytes.Buffer
	require.Equal(t, 1, cli.ExitCode("web", err, &errOut))
	require.Contains(t, errOut.String(), "web: URL file: open")
}

// TestSearch: the page searches the network, shows a table of what it
// found, fetches a row, and says in words, beside the search form, what
// was wrong with a search.
func TestSearch(t *testing.T) {
	f := newFixture(t, map[string]string{"my report.txt": "mine"})
	f.peer(t, "mem://other", map[string]string{"Report <2026>.txt": "theirs", "notes.txt": "n"})
	require.NoError(t, f.node.Hello(context.Background(), "mem://other"))

	body := f.get(t, "/")
	require.Contains(t, body, `<p id="search-status" role="status" class="status "></p>`, "no search yet")
	require.NotContains(t, body, `<table id="hits">`)

	body = f.get(t, "/?q=+report+")
	require.Contains(t, status(t, body, "search-status"), `class="status ">2 files match &#34;report&#34;.</p>`)
	require.Contains(t, body, `<input id="q" name="q" type="search" value="report">`)
	rows := strings.Split(body[strings.Index(body, "<tbody>"):strings.Index(body, "</tbody>")], "<tr>")[1:]
	require.Len(t, rows, 2)
	require.Contains(t, rows[0], `<td class="name">my report.txt</td><td class="num">4 bytes</td><td class="holder">here</td><td class="num">0</td>`)
	require.NotContains(t, rows[0], "<button", "nothing to fetch for a file here")
	require.Contains(t, rows[1], `<td class="name">Report &lt;2026&gt;.txt</td><td class="num">6 bytes</td><td class="holder">mem://other</td><td class="num">1</td>`)
	require.Contains(t, rows[1], `<input type="hidden" name="name" value="Report &lt;2026&gt;.txt">`)
	require.Contains(t, rows[1], `<button type="submit">Fetch</button>`)

	// A row's Fetch button posts what the Fetch form does, and the
	// search: the page comes back with the fetch's result and the table.
	resp := f.post(t, "/fetch", url.Values{"name": {"Report <2026>.txt"}, "q": {"report"}}, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Regexp(t, `^/\?fetch=\w+&q=report$`, resp.Header.Get("Location"))
	f.page.fetches.Wait()
	body = f.get(t, resp.Header.Get("Location"))
	require.Contains(t, status(t, body, "fetch-status"), ">Fetched Report &lt;2026&gt;.txt: 6 bytes, checked against its SHA-256, from 1 holder.</p>")
	require.Contains(t, body, `<td class="name">Report &lt;2026&gt;.txt</td><td class="num">6 bytes</td><td class="holder">here</td>`, "now here too")
	got, err := os.ReadFile(filepath.Join(f.dir, "Report <2026>.txt"))
	require.NoError(t, err)
	require.Equal(t, "theirs", string(got))

	for _, tc := range []struct{ q, kind, text string }{
		{"", "error", "Type words to search for."},
		{"   ", "error", "Type words to search for."},
		{"nothing like it", "info", "No file matches &#34;nothing like it&#34;."},
		{strings.Repeat("w ", 17), "error", "Can&#39;t search for &#34;" + strings.TrimSpace(strings.Repeat("w ", 17)) + "&#34;: more than 16 words."},
		{"sha256:xyz", "error", "Can&#39;t search for &#34;sha256:xyz&#34;: &#34;xyz&#34; is not a hex SHA-256."},
		{strings.Repeat("x", 2000), "error", "Can&#39;t search for &#34;" + strings.Repeat("x", 50) + "…&#34;: longer than 1024 bytes."},
	} {
		body := f.get(t, "/?"+url.Values{"q": {tc.q}}.Encode())
		line := status(t, body, "search-status")
		require.Contains(t, line, `class="status `+tc.kind+`"`, "%q", tc.q)
		require.Contains(t, line, tc.text, "%q", tc.q)
		require.NotContains(t, line, "peer:", "%q", tc.q)
		require.NotContains(t, body, `<table id="hits">`, "%q", tc.q)
	}

	// The other forms keep the search.
	resp = f.post(t, "/hello", url.Values{"url": {"mem://dead"}, "q": {"notes"}}, nil)
	require.Regexp(t, `^/\?hello=\w+&q=notes$`, resp.Header.Get("Location"))
}

// huge is a file of four pieces, held back by slowHolder.
var huge = strings.Repeat("filepeer", 4<<20/8)

// slowHolder starts mem://slow, which holds huge.bin, vouches for it, and
// sends its first piece of four at once and the rest once the hold returned
// opens; the page's node knows it.
func (f *fixture) slowHolder(t *testing.T) *hold.Hold {
	t.Helper()
	h := hold.New(1, time.Millisecond)
	t.Cleanup(h.Open) // should the test end early
	f.peerOn(t, h.Transport(f.mem), "mem://slow", map[string]string{"huge.bin": huge})
	require.NoError(t, f.node.Hello(context.Background(), "mem://slow"))
	return h
}

// TestFetchProgress: a fetch from a holder that vouches for the file shows
// the percent of its size and the holders while it runs, in the page and in
// its JSON, and ends checked against the hash.
func TestFetchProgress(t *testing.T) {
	f := newFixture(t, nil)
	h := f.slowHolder(t)
	resp := f.post(t, "/fetch", url.Values{"name": {"huge.bin"}}, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/?fetch=")

	quarter := 25
	held := f.progressOf(t, id, func(r result) bool { return r.Percent != nil && *r.Percent == quarter })
	require.Equal(t, result{ID: id, Running: true, Text: "Downloading huge.bin… 25% of 4.0 MiB (4194304 bytes), from 1 holder", Percent: &quarter}, held)
	page := f.get(t, "/?fetch="+id)
	require.Contains(t, status(t, page, "fetch-status"), ">Downloading huge.bin… 25% of 4.0 MiB (4194304 bytes), from 1 holder</p>")
	require.Contains(t, page, `<progress id="fetch-bar" max="100" aria-label="Fetched so far" value="25">25%</progress>`)

	h.Open()
	f.page.fetches.Wait()
	require.Equal(t, result{ID: id, Text: "Fetched huge.bin: 4.0 MiB (4194304 bytes), checked against its SHA-256, from 1 holder.", Kind: "ok"},
		f.progressOf(t, id, func(result) bool { return true }))
	page = f.get(t, "/?fetch="+id)
	require.NotContains(t, page, "<progress", "no bar once the fetch has ended")
	got, err := os.ReadFile(filepath.Join(f.dir, "huge.bin"))
	require.NoError(t, err)
	require.Equal(t, huge, string(got))
}

// TestRunningText: how far a fetch is, in words, for what the node may
// report.
func TestRunningText(t *testing.T) {
	for _, tc := range []struct {
		p       peer.FetchProgress
		text    string
		percent int // -1: none
	}{
		{peer.FetchProgress{Size: -1}, "Downloading a.bin…", -1},
		{peer.FetchProgress{Bytes: 20_000, Size: -1, Holders: 1}, "Downloading a.bin… 19.5 KiB (20000 bytes) so far", -1},
		{peer.FetchProgress{Bytes: 0, Size: 3 << 20, Holders: 3}, "Downloading a.bin… 0% of 3.0 MiB (3145728 bytes), from 3 holders", 0},
		{peer.FetchProgress{Bytes: 3<<20 - 1, Size: 3 << 20}, "Downloading a.bin… 99% of 3.0 MiB (3145728 bytes)", 99},
		{peer.FetchProgress{Bytes: 5, Size: 4, Holders: 1}, "Downloading a.bin… 100% of 4 bytes, from 1 holder", 100},
		{peer.FetchProgress{Size: 0}, "Downloading a.bin…", -1},
	} {
		text, percent := running("a.bin", tc.p)
		require.Equal(t, tc.text, text, "%+v", tc.p)
		if tc.percent < 0 {
			require.Nil(t, percent, "%+v", tc.p)
		} else {
			require.NotNil(t, percent, "%+v", tc.p)
			require.Equal(t, tc.percent, *percent, "%+v", tc.p)
		}
	}
}
