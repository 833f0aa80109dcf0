package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/filepeer/peer"
	"github.com/filepeer/peer/examples/internal/cli"
	"github.com/filepeer/peer/transport"
)

//go:embed templates
var templates embed.FS

var pageTemplate = template.Must(template.ParseFS(templates, "templates/page.html"))

// maxResults is how many finished fetches and peer additions the page
// remembers, so that a page left open, or reloaded, still shows how its
// action went.
const maxResults = 200

// server is the web page of one node. Each action's result is kept under
// an id that only the browser that asked is sent (in the URL it is sent
// back to), so that every browser, and every tab, sees its own. Fetches
// run in the server, not in the request: closing the tab leaves them
// running, and the page polls for their progress.
type server struct {
	node   *peer.Node
	secret string
	dir    *os.Root            // the node's Dir, to tell why a fetch failed
	tr     transport.Transport // to check that an added peer answers
	meter  *meter

	ctx     context.Context // the fetches'; cancelled by Close
	cancel  context.CancelFunc
	fetches sync.WaitGroup

	mu sync.Mutex
	// guards results, order and running
	results map[string]*result
	order   []string           // results' ids, oldest first
	running map[string]*result // fetches under way, by name
}

// result is how an action went, or is going: the line beside its form.
type result struct {
	ID      string `json:"id"`
	Name    string `json:"-"`
	Running bool   `json:"running"`
	Text    string `json:"text"`
	Kind    string `json:"kind"` // a CSS class: "ok", "info", "warn", "error" or "" while running
	// Percent is how far a running fetch is, once its size is known.
	Percent *int `json:"percent,omitempty"`
}

// newServer returns the web page of node, which fetches with secret into
// dir and learns how its fetches go from m (which node's Config.FetchProgress must
// feed). Actions are POSTs, refused when they come
// from another site (CSRF) or name a host other than loopback (DNS
// rebinding), since they use the secret. Close stops the fetches.
func newServer(node *peer.Node, secret string, dir *os.Root, tr transport.Transport, m *meter) *server {
	ctx, cancel := context.WithCancel(context.Background())
	return &server{
		node: node, secret: secret, dir: dir, tr: tr, meter: m,
		ctx: ctx, cancel: cancel,
		results: make(map[string]*result),
		running: make(map[string]*result),
	}
}

// Handler returns the page's HTTP handler.
func (s *server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /fetches/{id}", s.progress)
	mux.HandleFunc("POST /fetch", s.fetch)
	mux.HandleFunc("POST /hello", s.hello)
	return loopbackHost(http.NewCrossOriginProtection().Handler(mux))
}

// Close cancels the fetches under way and waits for them to end.
func (s *server) Close() {
	s.cancel()
	s.fetches.Wait()
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	files, err := s.node.List(r.Context())
	if err != nil {
		http.Error(w, "cannot list the shared directory: "+cli.Reason(err), http.StatusInternalServerError)
		return
	}
	fetch, hello := s.result(r.FormValue("fetch")), s.result(r.FormValue("hello"))
	found := s.search(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	pageTemplate.Execute(w, struct {
		URL          string
		Files        []string
		Known        []known
		Fetch, Hello *result
		Search       *searched
	}{s.node.URL(), files, knownPeers(s.node), fetch, hello, found})
}

// ping asks the node to check that the peer at u answers.
func (s *server) ping(ctx context.Context, u string) error {
	ctx, cancel := context.WithTimeout(ctx, cli.ProbeTimeout)
	defer cancel()
	return s.node.Ping(ctx, u)
}

// known is a known peer as the page shows it.
type known struct{ URL, State string }

func knownPeers(n *peer.Node) []known {
	var out []known
	for _, p := range n.Peers() {
		out = append(out, known{p.URL, cli.PeerState(p)})
	}
	return out
}

// searched is a search the page ran and what it found, for the table.
type searched struct {
	Query string
	Text  string // the line beside the search form
	Kind  string // its CSS class: "error", "info" or ""
	Hits  []hitRow
}

// hitRow is a row of the results table.
type hitRow struct {
	Name, Size, Holder string
	Hops               int
	Here               bool // this node's own file: nothing to fetch
}

// search runs the search the page was asked for (its ?q=), in the request:
// a search ends by itself, after the node's QueryTimeout at the latest. It
// returns nil when none was asked for. A search is no action (it uses no
// secret and changes nothing), so it is a GET, which a reload repeats.
func (s *server) search(r *http.Request) *searched {
	if !r.URL.Query().Has("q") {
		return nil
	}
	q := strings.TrimSpace(r.FormValue("q"))
	res := &searched{Query: q}
	shown := q
	if runes := []rune(q); len(runes) > 60 {
		shown = string(runes[:50]) + "…" // a long query would fill the line
	}
	if q == "" {
		res.Text, res.Kind = "Type words to search for.", "error"
		return res
	}
	hits, err := s.node.Search(r.Context(), q)
	switch {
	case errors.Is(err, peer.ErrBadSearch):
		res.Text, res.Kind = fmt.Sprintf("Can't search for %q: %s.", shown, cli.Reason(err)), "error"
		return res
	case err != nil:
		res.Text, res.Kind = fmt.Sprintf("Couldn't search for %q: %s.", shown, cli.Reason(err)), "error"
		return res
	case len(hits) == 0:
		res.Text, res.Kind = fmt.Sprintf("No file matches %q.", shown), "info"
		return res
	case len(hits) == 1:
		res.Text = fmt.Sprintf("1 file matches %q.", shown)
	default:
		res.Text = fmt.Sprintf("%d files match %q.", len(hits), shown)
	}
	for _, h := range hits {
		row := hitRow{Name: h.Name, Size: cli.Size(h.Size), Holder: h.Peer, Hops: h.Hops}
		if h.Peer == s.node.URL() {
			row.Holder, row.Here = "here", true
		}
		res.Hits = append(res.Hits, row)
	}
	return res
}

// progress answers the page's polling for a fetch, in JSON.
func (s *server) progress(w http.ResponseWriter, r *http.Request) {
	res := s.result(r.PathValue("id"))
	if res == nil {
		http.Error(w, "no such fetch: the page may have restarted", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(res)
}

// result returns a copy of the result id, with how far a running fetch
// is, or nil.
func (s *server) result(id string) *result {
	if id == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res, ok := s.results[id]
	if !ok {
		return nil
	}
	c := *res
	if c.Running {
		c.Text, c.Percent = running(c.Name, s.meter.now(c.Name))
	}
	return &c
}

// running says how far the fetch of name is: before the holders are found,
// nothing; from a book node, which tells no size, the bytes so far; else
// the percent of the size, and the holders sending.
func running(name string, p peer.FetchProgress) (string, *int) {
	text := "Downloading " + name + "…"
	if p.Size <= 0 {
		if p.Bytes > 0 {
			text += " " + cli.Size(p.Bytes) + " so far"
		}
		return text, nil
	}
	pct := int(min(p.Bytes, p.Size) * 100 / p.Size)
	text += fmt.Sprintf(" %d%% of %s", pct, cli.Size(p.Size))
	if p.Holders > 0 {
		text += ", from " + holders(p.Holders)
	}
	return text, &pct
}

// holders says how many holders there are, in words.
func holders(n int) string {
	if n == 1 {
		return "1 holder"
	}
	return fmt.Sprintf("%d holders", n)
}

// fetch starts fetching a file, unless it is on its way, and sends the
// browser to the page that shows how it goes (POST/redirect/GET). A file
// already here is Download's to tell.
func (s *server) fetch(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.FormValue("name"))
	var res *result
	if name == "" {
		res = s.add(&result{Text: "Type the name of a file to fetch.", Kind: "error"})
	} else {
		res = s.start(name)
	}
	s.redirect(w, r, res.ID, r.FormValue("hello"), r.FormValue("q"))
}

// start starts fetching name, or joins the fetch of it under way.
func (s *server) start(name string) *result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if res, ok := s.running[name]; ok {
		return res
	}
	res := s.addLocked(&result{Name: name, Running: true})
	s.running[name] = res
	s.fetches.Add(1)
	go func() {
		defer s.fetches.Done()
		text, kind := s.outcome(s.node.Download(s.ctx, name, s.secret))
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.running, name)
		s.meter.forget(name)
		res.Running, res.Text, res.Kind = false, text, kind
	}()
	return res
}

// outcome says how a fetch went, for people, and the line's CSS class.
func (s *server) outcome(res peer.FetchResult, err error) (text, kind string) {
	name := res.Name
	switch {
	case err != nil && s.isDir(name):
		return "Couldn't fetch " + name + ": a directory of that name is in the shared directory.", "error"
	case errors.Is(err, peer.ErrUnhandled):
		return "Couldn't find " + name + ": no peer on the network has it.", "error"
	case errors.Is(err, peer.ErrAccessDenied):
		return "Access denied: " + name + " would lead out of the shared directory.", "error"
	case err != nil:
		return fmt.Sprintf("Couldn't fetch %s: %s.", name, cli.Reason(err)), "error"
	}
	switch res.Status {
	case peer.AlreadyHere:
		return name + " is already here: nothing to fetch.", "info"
	case peer.FetchedUnverified:
		// Its holder announced no hash: it is stored as it came.
		return "Fetched " + name + " from a node that cannot vouch for it (not verified).", "warn"
	case peer.Fetched:
		from := "from " + holders(len(res.Holders))
		if len(res.Holders) == 0 {
			from = "passed on by the nodes between" // no holder could be reached directly
		}
		return fmt.Sprintf("Fetched %s: %s, checked against its SHA-256, %s.", name, cli.Size(res.Size), from), "ok"
	}
	return fmt.Sprintf("Fetched %s: %s.", name, res.Status), "ok" // a status this page does not know yet
}

// isDir reports whether the shared directory holds a directory name,
// which no fetch can replace.
func (s *server) isDir(name string) bool {
	fi, err := s.dir.Stat(name)
	return err == nil && fi.IsDir()
}

// hello adds a peer and checks that it answers: a peer that does not is
// kept, as the client does, but the page says so rather than "added".
func (s *server) hello(w http.ResponseWriter, r *http.Request) {
	res := &result{}
	typed := strings.TrimSpace(r.FormValue("url"))
	switch u, err := cli.PeerURL(typed); {
	case err != nil:
		res.Text, res.Kind = upper(err.Error())+".", "error"
	case u == s.node.URL():
		res.Text, res.Kind = u+" is this node's own URL.", "error"
	default:
		if err := s.node.Hello(r.Context(), u); err != nil {
			res.Text, res.Kind = fmt.Sprintf("Couldn't add %s: %s.", u, cli.Reason(err)), "error"
		} else if err := s.ping(r.Context(), u); err != nil {
			res.Text, res.Kind = fmt.Sprintf("Added %s, but it does not answer: %s. The node will try it when it next asks its peers.", u, cli.Reason(err)), "warn"
		} else {
			res.Text, res.Kind = "Added "+u+": it answers.", "ok"
		}
	}
	res = s.add(res)
	s.redirect(w, r, r.FormValue("fetch"), res.ID, r.FormValue("q"))
}

// redirect sends the browser to the page showing the results fetch and
// hello, each beside its form, and the search query's results
// (POST/redirect/GET). Each form carries the others' results, so that
// using one does not hide the others'.
func (s *server) redirect(w http.ResponseWriter, r *http.Request, fetch, hello, query string) {
	q := url.Values{}
	if query = strings.TrimSpace(query); query != "" {
		q.Set("q", query)
	}
	if fetch != "" {
		q.Set("fetch", fetch)
	}
	if hello != "" {
		q.Set("hello", hello)
	}
	http.Redirect(w, r, "/?"+q.Encode(), http.StatusSeeOther)
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (s *server) add(res *result) *result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(res)
}

// addLocked gives res an id and keeps it, forgetting the oldest finished
// result beyond maxResults. s.mu must be held.
func (s *server) addLocked(res *result) *result {
	res.ID = rand.Text()
	s.results[res.ID] = res
	s.order = append(s.order, res.ID)
	for i := 0; len(s.results) > maxResults && i < len(s.order); {
		if old := s.results[s.order[i]]; old.Running {
			i++ // a running fetch is kept: its page still polls
			continue
		}
		delete(s.results, s.order[i])
		s.order = append(s.order[:i], s.order[i+1:]...)
	}
	return res
}

// meter keeps how far each fetch under way is, as the node's
// Config.FetchProgress reports it. Safe for concurrent use.
type meter struct {
	mu sync.Mutex
	// guards of
	of map[string]peer.FetchProgress
}

func newMeter() *meter { return &meter{of: make(map[string]peer.FetchProgress)} }

// FetchProgress is a peer.Config.FetchProgress.
func (m *meter) FetchProgress(p peer.FetchProgress) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.of[p.Name] = p
}

// now returns how far the fetch of name is; before any report, no bytes
// of an unknown size.
func (m *meter) now(name string) peer.FetchProgress {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.of[name]; ok {
		return p
	}
	return peer.FetchProgress{Name: name, Size: -1}
}

func (m *meter) forget(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.of, name)
}

// loopbackHost refuses requests whose Host is not a loopback name or
// address: a page of another site renamed to 127.0.0.1 by its DNS (DNS
// rebinding) would otherwise count as same-origin.
func loopbackHost(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if name, _, err := net.SplitHostPort(host); err == nil {
			host = name
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "this page is served to loopback only", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}
