package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/examples/internal/cli"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// freeURL returns the URL of a loopback port that was free a moment ago.
func freeURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return "http://" + l.Addr().String()
}

// startNode starts a node over XML-RPC on loopback, sharing a new directory
// that holds files; it is closed when the test ends.
func startNode(t *testing.T, secret string, files map[string]string) (*peer.Node, string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	n, err := peer.New(peer.Config{URL: freeURL(t), Dir: dir, Secret: secret})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	require.NoError(t, n.Start())
	return n, dir
}

// page serves the web page of a new node holding files.
func page(t *testing.T, files map[string]string) (*peer.Node, string, *httptest.Server) {
	t.Helper()
	n, dir := startNode(t, "s3cret", files)
	srv := httptest.NewServer(newServer(n, "s3cret"))
	t.Cleanup(srv.Close)
	return n, dir, srv
}

// noRedirects is a client that shows the redirects it is sent.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + "/")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

func post(t *testing.T, srv *httptest.Server, path string, form url.Values, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
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

func TestPage(t *testing.T) {
	other, _ := startNode(t, "other secret", map[string]string{"test.txt": "This is a test\n"})
	_, dir, srv := page(t, map[string]string{"<b>bold<b> & co.txt": "x"})

	body := get(t, srv)
	require.Contains(t, body, "&lt;b&gt;bold&lt;b&gt; &amp; co.txt", "names are escaped")
	require.NotContains(t, body, "<b>bold")

	resp := post(t, srv, "/fetch", url.Values{"name": {"test.txt"}}, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/", resp.Header.Get("Location"))
	require.Contains(t, get(t, srv), `<p id="status" role="status" class="error">couldn&#39;t find test.txt</p>`)

	post(t, srv, "/hello", url.Values{"url": {other.URL()}}, nil)
	body = get(t, srv)
	require.Contains(t, body, "<li>"+other.URL()+"</li>")
	require.Contains(t, body, "added "+other.URL())

	post(t, srv, "/fetch", url.Values{"name": {" test.txt "}}, nil)
	body = get(t, srv)
	require.Contains(t, body, `class="ok">fetched test.txt</p>`)
	require.Contains(t, body, "<li>test.txt</li>")
	got, err := os.ReadFile(filepath.Join(dir, "test.txt"))
	require.NoError(t, err)
	require.Equal(t, "This is a test\n", string(got))

	post(t, srv, "/fetch", url.Values{"name": {"../etc/passwd"}}, nil)
	require.Contains(t, get(t, srv), "access denied: ../etc/passwd")
	post(t, srv, "/fetch", url.Values{"name": {"  "}}, nil)
	require.Contains(t, get(t, srv), "type the name of a file")
	post(t, srv, "/hello", url.Values{"url": {"not a url"}}, nil)
	require.Contains(t, get(t, srv), "invalid peer URL")
}

func TestPageRefuses(t *testing.T) {
	_, dir, srv := page(t, nil)
	fetch := url.Values{"name": {"test.txt"}}

	resp := post(t, srv, "/fetch", fetch, http.Header{"Sec-Fetch-Site": {"cross-site"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a POST from another site")
	resp = post(t, srv, "/fetch", fetch, http.Header{"Origin": {"http://evil.example"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a POST from another origin")

	req, err := http.NewRequest("GET", srv.URL+"/", nil)
	require.NoError(t, err)
	req.Host = "evil.example:8080"
	resp, err = noRedirects.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, "a rebound DNS name")

	resp, err = noRedirects.Get(srv.URL + "/fetch?name=test.txt")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "GET changes nothing")
	resp, err = noRedirects.Get(srv.URL + "/nothing")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	require.NotContains(t, get(t, srv), "couldn&#39;t find", "no refused request ran")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	var log bytes.Buffer
	go func() {
		done <- run(ctx, []string{"-url", freeURL(t), "-dir", t.TempDir(), "-listen", "127.0.0.1:0"},
			env{stderr: &log, listening: func(a string) { addr <- a }})
	}()
	select {
	case a := <-addr:
		resp, err := http.Get("http://" + a + "/")
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Contains(t, string(body), "Fetch</button>")
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
}

func TestBadArguments(t *testing.T) {
	dir := t.TempDir()
	for name, args := range map[string][]string{
		"none":         nil,
		"no dir":       {"-url", "http://127.0.0.1:4243"},
		"no url":       {"-dir", dir},
		"extra":        {"-url", "http://127.0.0.1:4243", "-dir", dir, "extra"},
		"unknown flag": {"-x"},
		"not loopback": {"-url", "http://127.0.0.1:4243", "-dir", dir, "-listen", "0.0.0.0:8080"},
		"no port":      {"-url", "http://127.0.0.1:4243", "-dir", dir, "-listen", "127.0.0.1"},
	} {
		t.Run(name, func(t *testing.T) {
			var errOut bytes.Buffer
			err := run(context.Background(), args, env{stderr: &errOut})
			require.ErrorIs(t, err, cli.ErrUsage)
			require.Equal(t, 2, cli.ExitCode("web", err, io.Discard))
			require.Contains(t, errOut.String(), "usage: web -url URL -dir DIR")
		})
	}
	err := run(context.Background(), []string{"-url", freeURL(t), "-dir", dir, "-urls", filepath.Join(dir, "nope")}, env{stderr: io.Discard})
	var errOut bytes.Buffer
	require.Equal(t, 1, cli.ExitCode("web", err, &errOut))
	require.Contains(t, errOut.String(), "web: URL file: open")
}

// gate is a peer that holds test.txt but answers a query for it only when
// the test opens the gate, so that the page can be seen while it waits.
type gate struct{ open chan struct{} }

func (g gate) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	if name != "test.txt" {
		return nil, &peer.Fault{Code: peer.Unhandled, Message: "Couldn't handle the query"}
	}
	select {
	case <-g.open:
		return io.NopCloser(strings.NewReader("This is a test\n")), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (gate) Hello(context.Context, string) error { return nil }

func (gate) Fetch(context.Context, string, string) error {
	return &peer.Fault{Code: peer.AccessDenied, Message: "Access denied"}
}

// TestBrowser drives the page in a real headless browser: add a peer, fetch
// a file it does not have, then one it has.
func TestBrowser(t *testing.T) {
	chromium := testenv.Tool(t, "chromium")
	g := gate{open: make(chan struct{})}
	other := httptest.NewServer(transport.NewXMLRPCHandler(g))
	defer other.Close()
	_, dir, srv := page(t, map[string]string{"mine.txt": "mine"})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	// status finds the status line once it reads text: an XPath query,
	// which chromedp runs as a search until it matches.
	status := func(text string) string {
		return `//p[@id="status" and normalize-space(text())="` + text + `"]`
	}
	text := func(id string) string {
		t.Helper()
		s, err := chromedp.Run(browser, chromedp.Text(chromedp.ID(id)))
		require.NoError(t, err)
		return s
	}

	require.NoError(t, chromedp.Do(browser, chromedp.Navigate(srv.URL)))
	require.Equal(t, "mine.txt", strings.TrimSpace(text("files")))
	require.Equal(t, "none yet", strings.TrimSpace(text("known")))

	require.NoError(t, chromedp.Do(browser,
		chromedp.SendKeys(chromedp.ID("url"), other.URL),
		chromedp.Click(chromedp.ID("hello-button")),
		chromedp.WaitVisible(status("added "+other.URL+" to the known peers")),
	))
	require.Equal(t, other.URL, strings.TrimSpace(text("known")))

	require.NoError(t, chromedp.Do(browser,
		chromedp.SendKeys(chromedp.ID("name"), "nothing.txt"),
		chromedp.Click(chromedp.ID("fetch-button")),
		chromedp.WaitVisible(status("couldn't find nothing.txt")),
	))

	// The peer holds test.txt back until the gate opens: the page says it
	// is downloading meanwhile, and the file is not there yet.
	// The click runs the page's submit handler at once; the page is read in
	// the same breath, since chromedp's queries wait for the next page,
	// which the gate holds back.
	require.NoError(t, chromedp.Do(browser, chromedp.SendKeys(chromedp.ID("name"), "test.txt")))
	shown, err := chromedp.Run(browser, chromedp.Evaluate[string](`
		document.getElementById("fetch-button").click();
		document.getElementById("status").textContent + "|" + document.getElementById("fetch-button").disabled`))
	require.NoError(t, err)
	require.Equal(t, "downloading test.txt…|true", shown)
	_, err = os.Stat(filepath.Join(dir, "test.txt"))
	require.ErrorIs(t, err, os.ErrNotExist)

	close(g.open)
	require.NoError(t, chromedp.Do(browser, chromedp.WaitVisible(status("fetched test.txt"))))
	require.Equal(t, []string{"mine.txt", "test.txt"}, strings.Fields(text("files")))
	got, err := os.ReadFile(filepath.Join(dir, "test.txt"))
	require.NoError(t, err)
	require.Equal(t, "This is a test\n", string(got))

	require.NoError(t, chromedp.Cancel(browser), "the browser closes")
	cancelAlloc()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the browser test ran out of time")
	}
}
