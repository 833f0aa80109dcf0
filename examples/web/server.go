package main

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/filepeer/peer"
)

//go:embed templates
var templates embed.FS

var pageTemplate = template.Must(template.ParseFS(templates, "templates/page.html"))

// server is the web page of one node. There is one status line for the
// whole page, as in the book's GUI: the page has one user, on loopback.
type server struct {
	node   *peer.Node
	secret string

	mu sync.Mutex
	// guards status
	status status
}

// status is the line under the Fetch button; Kind is a CSS class.
type status struct {
	Text string
	Kind string // "", "ok" or "error"
}

// newServer returns the web page of node, which fetches with secret.
// Actions are POSTs, refused when they come from another site (CSRF) or
// name a host other than loopback (DNS rebinding), since they use the
// secret.
func newServer(node *peer.Node, secret string) http.Handler {
	s := &server{node: node, secret: secret}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("POST /fetch", s.fetch)
	mux.HandleFunc("POST /hello", s.hello)
	return loopbackHost(http.NewCrossOriginProtection().Handler(mux))
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	files, err := s.node.List(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	st := s.status
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	pageTemplate.Execute(w, struct {
		URL    string
		Files  []string
		Known  []string
		Status status
	}{s.node.URL(), files, s.node.Known(), st})
}

// fetch runs the fetch before it answers, then sends the browser back to
// the page (POST/redirect/GET), which shows how it went.
func (s *server) fetch(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.FormValue("name"))
	var st status
	if name == "" {
		st = status{"type the name of a file to fetch", "error"}
	} else {
		switch err := s.node.Fetch(r.Context(), name, s.secret); {
		case err == nil:
			st = status{"fetched " + name, "ok"}
		case errors.Is(err, peer.ErrUnhandled):
			st = status{"couldn't find " + name, "error"}
		case errors.Is(err, peer.ErrAccessDenied):
			st = status{"access denied: " + name + " would lead out of the shared directory", "error"}
		default:
			st = status{fmt.Sprintf("couldn't fetch %s: %v", name, err), "error"}
		}
	}
	s.setStatus(w, r, st)
}

func (s *server) hello(w http.ResponseWriter, r *http.Request) {
	url := strings.TrimSpace(r.FormValue("url"))
	st := status{"added " + url + " to the known peers", "ok"}
	if err := s.node.Hello(r.Context(), url); err != nil {
		st = status{err.Error(), "error"}
	}
	s.setStatus(w, r, st)
}

func (s *server) setStatus(w http.ResponseWriter, r *http.Request, st status) {
	s.mu.Lock()
	s.status = st
	s.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
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
