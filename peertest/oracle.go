package peertest

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/filepeer/peer"
)

// maxRouteSteps bounds Route's walk, which on a dense graph with a high
// history limit grows as the number of simple paths.
const maxRouteSteps = 1 << 16

// Graph is a known-peer graph: each node's name maps to the names of the
// peers it knows, in the order it asks them (by URL, so by name).
type Graph map[string][]string

// NewGraph returns the graph of the given nodes and directed links; a
// node named only in a link is added too.
func NewGraph(names []string, links []Link) Graph {
	g := make(Graph, len(names))
	for _, name := range names {
		g[name] = g[name][:0:0]
	}
	for _, l := range links {
		if l.From != l.To && !slices.Contains(g[l.From], l.To) {
			g[l.From] = append(g[l.From], l.To)
		}
		if _, ok := g[l.To]; !ok {
			g[l.To] = nil
		}
	}
	for name := range g {
		slices.Sort(g[name])
	}
	return g
}

// Graph returns the network's known-peer graph as it is now: what the
// nodes really know, which the protocol shrinks when a peer fails. A
// crashed node knows nobody.
func (n *Network) Graph() Graph {
	g := make(Graph)
	for _, nd := range n.Nodes() {
		known := nd.Known()
		if len(known) == 0 {
			known = nil // as NewGraph has it, so that graphs compare equal
		}
		g[nd.name] = known
	}
	return g
}

// Links returns the graph's directed links, sorted.
func (g Graph) Links() []Link {
	var links []Link
	for from, to := range g {
		for _, t := range to {
			links = append(links, Link{from, t})
		}
	}
	slices.SortFunc(links, func(a, b Link) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	return links
}

// Reach returns the nodes whose files a query at from can find when every
// node answers, each with the fewest hops to it: the nodes within
// maxHistory-1 hops along known links, from itself at hop 0.
//
// Why: a query's history holds the path it has taken, a node passes the
// query on only while the history with itself added is shorter than
// maxHistory, and it asks every known peer not on the path until one
// succeeds. So the query walks every simple path of at most maxHistory-1
// hops, and a shortest path is simple. Which node answers when several
// hold the file, and at what hop, is the first found in that walk, not the
// nearest: see Route. maxHistory <= 0 means peer.DefaultMaxHistory.
func (g Graph) Reach(from string, maxHistory int) map[string]int {
	limit := cmp.Or(max(maxHistory, 0), peer.DefaultMaxHistory) - 1
	dist := map[string]int{from: 0}
	frontier := []string{from}
	for hop := 1; hop <= limit && len(frontier) > 0; hop++ {
		var next []string
		for _, u := range frontier {
			for _, v := range g[u] {
				if _, seen := dist[v]; !seen {
					dist[v] = hop
					next = append(next, v)
				}
			}
		}
		frontier = next
	}
	return dist
}

// Reach is Graph().Reach(from, MaxHistory()).
func (n *Network) Reach(from string) map[string]int {
	return n.Graph().Reach(from, n.MaxHistory())
}

// Holders returns the holders that may answer a query at from when nodes
// ask their peers at once and handle each query once, as filepeer's nodes
// do by default: every holder within reach (see Reach), since whichever
// copy of the query reaches one first may win. The query finds the file if
// and only if Holders is not empty. maxHistory <= 0 means
// peer.DefaultMaxHistory.
func (g Graph) Holders(from string, maxHistory int, holders ...string) []string {
	reach := g.Reach(from, maxHistory)
	var may []string
	for _, h := range holders {
		if _, ok := reach[h]; ok && !slices.Contains(may, h) {
			may = append(may, h)
		}
	}
	slices.Sort(may)
	return may
}

// Holders is Graph().Holders(from, MaxHistory(), holders...).
func (n *Network) Holders(from string, holders ...string) []string {
	return n.Graph().Holders(from, n.MaxHistory(), holders...)
}

// Step is one node asking another during a query.
type Step struct {
	Caller, Callee string
	History        []string // as sent: the path from the origin to Caller
}

// String writes the step as "a>b [history]".
func (s Step) String() string { return fmt.Sprintf("%s>%s %v", s.Caller, s.Callee, s.History) }

// Route is what a query does on a graph, by the protocol's rules.
type Route struct {
	Found  bool
	Holder string   // the node that answered, if Found
	Path   []string // from the origin to Holder, if Found
	Steps  []Step   // every node-to-node query, in the order made
}

// Hops returns how many hops away the answer was found, or -1.
func (r Route) Hops() int {
	if !r.Found {
		return -1
	}
	return len(r.Path) - 1
}

// Route predicts a query at from for a file that the holders have, when
// every node answers, the graph does not change and the nodes are book
// nodes (see Book), asking one peer at a time: the book protocol's walk,
// depth first, each node asking its known peers in order and skipping
// those in the history, the first success ending it. It fails if the walk
// would exceed 65,536 steps. maxHistory <= 0 means
// peer.DefaultMaxHistory.
func (g Graph) Route(from string, maxHistory int, holders ...string) (Route, error) {
	maxHistory = cmp.Or(max(maxHistory, 0), peer.DefaultMaxHistory)
	has := make(map[string]bool, len(holders))
	for _, h := range holders {
		has[h] = true
	}
	var r Route
	onPath := make(map[string]bool) // the nodes in history, for a quick test
	var walk func(node string, history []string) (bool, error)
	walk = func(node string, history []string) (bool, error) {
		if has[node] {
			r.Found, r.Holder, r.Path = true, node, append(slices.Clone(history), node)
			return true, nil
		}
		history = append(slices.Clip(history), node)
		if len(history) >= maxHistory {
			return false, nil
		}
		onPath[node] = true
		defer delete(onPath, node)
		for _, p := range g[node] {
			if onPath[p] {
				continue
			}
			if len(r.Steps) >= maxRouteSteps {
				return false, fmt.Errorf("peertest: route from %s: more than %d steps", from, maxRouteSteps)
			}
			r.Steps = append(r.Steps, Step{Caller: node, Callee: p, History: history})
			if ok, err := walk(p, history); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
	_, err := walk(from, nil)
	return r, err
}

// Route is Graph().Route(from, MaxHistory(), holders...), failing the test
// if the walk is too long to predict.
func (n *Network) Route(from string, holders ...string) Route {
	n.tb.Helper()
	r, err := n.Graph().Route(from, n.MaxHistory(), holders...)
	if err != nil {
		n.tb.Fatal(err)
	}
	return r
}

// SearchHits predicts what a search at from finds, for a query as
// peer.Node.Search takes it: the files of the nodes within the history
// limit along links between nodes that speak the extension (book nodes,
// see Book, are passed over), read from their directories now, each with
// its size, SHA-256 and the fewest hops to its holder, in Search's order.
// It fails the test for a query Search would refuse, or a node that
// cannot be read.
func (n *Network) SearchHits(from, query string) []peer.Hit {
	n.tb.Helper()
	limit := n.MaxHistory() - 1
	g := n.Graph()
	dist := map[string]int{from: 0}
	frontier := []string{from}
	for hop := 1; hop <= limit && len(frontier) > 0; hop++ {
		var next []string
		for _, u := range frontier {
			for _, v := range g[u] {
				if _, seen := dist[v]; !seen && !n.opts.isBook(v) {
					dist[v] = hop
					next = append(next, v)
				}
			}
		}
		frontier = next
	}
	hash, words := "", []string(nil)
	if h, ok := strings.CutPrefix(strings.TrimSpace(query), "sha256:"); ok {
		hash = strings.ToLower(h)
	} else {
		words = strings.Fields(strings.ToLower(query))
	}
	var hits []peer.Hit
	for name, hops := range dist {
		nd := n.Node(name)
		err := filepath.WalkDir(nd.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
				return err
			}
			rel, _ := filepath.Rel(nd.dir, path)
			rel = filepath.ToSlash(rel)
			for _, w := range words {
				if !strings.Contains(strings.ToLower(rel), w) {
					return nil
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			h := hex.EncodeToString(sum[:])
			if hash != "" && h != hash {
				return nil
			}
			hits = append(hits, peer.Hit{Name: rel, Size: int64(len(data)), Hash: h, Peer: nd.url, Hops: hops})
			return nil
		})
		if err != nil {
			n.tb.Fatalf("peertest: search oracle: %v", err)
		}
	}
	slices.SortFunc(hits, func(a, b peer.Hit) int {
		return cmp.Or(cmp.Compare(a.Hops, b.Hops), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Peer, b.Peer))
	})
	return hits
}
