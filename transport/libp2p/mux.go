package libp2p

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/filepeer/peer/transport"
)

// Route is one transport of a Mux: the URL schemes it carries and, if
// Also is not empty, a URL at which Listen serves every node on it too.
type Route struct {
	// Schemes are the URL schemes (without "://") whose URLs go to
	// Transport, such as "http" and "https", or Scheme.
	Schemes []string
	// Transport carries the calls of those URLs.
	Transport transport.Transport
	// Also, if not empty, is a URL of this transport at which Listen
	// serves the node as well as at its own URL: a bridging node's
	// second address.
	Also string
}

// Mux is a transport.Transport made of others, picked by each URL's
// scheme, so that one node serves and dials several kinds of URL at once:
// with an XML-RPC route for http:// and https:// and a libp2p route for
// libp2p:///, it bridges the book's Python nodes and libp2p peers. The
// node's own URL (the one its Config names) goes to its scheme's route;
// every other route with an Also URL serves the node there too. A Mux
// closes none of its transports: they are the program's.
type Mux struct {
	routes   []Route
	bySchema map[string]transport.Transport
}

var _ transport.Transport = (*Mux)(nil)

// NewMux returns a Mux of routes. A scheme may have one route only.
func NewMux(routes ...Route) (*Mux, error) {
	m := &Mux{bySchema: make(map[string]transport.Transport)}
	for i, r := range routes {
		if r.Transport == nil {
			return nil, fmt.Errorf("libp2p: mux: route %d has no Transport", i)
		}
		if len(r.Schemes) == 0 {
			return nil, fmt.Errorf("libp2p: mux: route %d has no Schemes", i)
		}
		for _, s := range r.Schemes {
			s = strings.ToLower(s)
			if s == "" || strings.Contains(s, ":") {
				return nil, fmt.Errorf("libp2p: mux: route %d: scheme %q: want a bare scheme such as \"http\"", i, s)
			}
			if _, ok := m.bySchema[s]; ok {
				return nil, fmt.Errorf("libp2p: mux: scheme %q has two routes", s)
			}
			m.bySchema[s] = r.Transport
		}
		if r.Also != "" {
			if tr, err := m.pick(r.Also); err != nil || tr != r.Transport {
				return nil, fmt.Errorf("libp2p: mux: route %d: Also %q is not of its schemes", i, short(r.Also))
			}
		}
	}
	m.routes = routes
	return m, nil
}

func (m *Mux) pick(raw string) (transport.Transport, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("libp2p: mux: %w", err)
	}
	tr := m.bySchema[strings.ToLower(u.Scheme)]
	if tr == nil {
		return nil, fmt.Errorf("libp2p: mux: %q: no transport for scheme %q", short(raw), u.Scheme)
	}
	return tr, nil
}

// Listen serves p at url on its scheme's transport, and at the Also URL
// of every other route. The io.Closer returned closes them all; its URL
// method gives the URL of url's listener (with the real port), and its
// URLs method every URL served, url's first.
func (m *Mux) Listen(url string, p transport.Peer) (io.Closer, error) {
	tr, err := m.pick(url)
	if err != nil {
		return nil, err
	}
	ml := &muxListener{}
	add := func(tr transport.Transport, u string) error {
		l, err := tr.Listen(u, p)
		if err != nil {
			return err
		}
		if lu, ok := l.(interface{ URL() string }); ok && lu.URL() != "" {
			u = lu.URL()
		}
		ml.ls = append(ml.ls, l)
		ml.urls = append(ml.urls, u)
		return nil
	}
	if err := add(tr, url); err != nil {
		return nil, err
	}
	for _, r := range m.routes {
		if r.Also == "" || r.Transport == tr {
			continue
		}
		if err := add(r.Transport, r.Also); err != nil {
			ml.Close()
			return nil, fmt.Errorf("libp2p: mux: listen at %s too: %w", short(r.Also), err)
		}
	}
	return ml, nil
}

// Dial returns a client for url from its scheme's transport.
func (m *Mux) Dial(url string) (transport.Peer, error) {
	tr, err := m.pick(url)
	if err != nil {
		return nil, err
	}
	return tr.Dial(url)
}

type muxListener struct {
	ls   []io.Closer
	urls []string
}

// URL returns the URL of the node's own listener.
func (l *muxListener) URL() string { return l.urls[0] }

// URLs returns every URL the node is served at, its own first.
func (l *muxListener) URLs() []string { return append([]string(nil), l.urls...) }

func (l *muxListener) Close() error {
	var errs []error
	for _, c := range l.ls {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
