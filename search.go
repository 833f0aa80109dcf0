package peer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/filepeer/peer/internal/filestamp"
	"github.com/filepeer/peer/transport"
)

// DefaultMaxHits caps the hits of a search when Config.MaxHits is zero.
const DefaultMaxHits = 1000

// maxSearchLen caps a search's text, and maxSearchWords its words.
const (
	maxSearchLen   = 1024
	maxSearchWords = 16
)

// ErrBadSearch is returned for a search that no node could run: too long,
// too many words, or a sha256: form that is no SHA-256.
var ErrBadSearch = errors.New("peer: bad search")

// Hit is a file that a search found.
type Hit struct {
	Name string // the file's name in the holder's directory
	Size int64  // bytes
	Hash string // lowercase hex SHA-256 of the contents; "" while not known
	Peer string // the holder's URL: the searching node's own for its files
	Hops int    // how far the holder is from the node that searched
}

// search is a parsed search: the words that every matching name holds,
// or the hash that matching contents have.
type search struct {
	text  string   // as given, to pass on
	words []string // lower case
	hash  string   // for "sha256:<hex>": lower-case hex
}

func parseSearch(text string) (search, error) {
	s := search{text: text}
	if len(text) > maxSearchLen {
		return s, fmt.Errorf("%w: longer than %d bytes", ErrBadSearch, maxSearchLen)
	}
	if h, ok := strings.CutPrefix(strings.TrimSpace(text), "sha256:"); ok {
		h = strings.ToLower(h)
		if !validHash(h) {
			return s, fmt.Errorf("%w: %q is not a hex SHA-256", ErrBadSearch, truncate(h))
		}
		s.hash = h
		return s, nil
	}
	s.words = strings.Fields(strings.ToLower(text))
	if len(s.words) > maxSearchWords {
		return s, fmt.Errorf("%w: more than %d words", ErrBadSearch, maxSearchWords)
	}
	return s, nil
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// matchesName reports whether name holds every word, case aside.
func (s search) matchesName(name string) bool {
	lower := strings.ToLower(name)
	for _, w := range s.words {
		if !strings.Contains(lower, w) {
			return false
		}
	}
	return true
}

// Search returns the files whose names hold every word of query, case
// aside, as a substring: on this node and on every node within the
// history limit that speaks the extension (book nodes are passed over:
// they are asked nothing), one hit per holder and name, nearest first,
// at most Config.MaxHits of them. A query "sha256:<hex>" finds every
// holder of those contents, whatever their names; a file a node has not
// hashed yet (it hashes in the background) is reported with Hash "", and
// found by its hash only once it is. A search ends when every peer has
// answered, at Config.MaxHits hits, or after Config.QueryTimeout, with
// what it has; if ctx ends first, Search returns ctx's error.
//
// A node with a Config.Router asks it first for the holders of a
// "sha256:<hex>" search that starts here (one a peer passes on is
// passed on as ever), and asks each holder it names (at most 16)
// directly whether it holds those contents; if any does, the search
// returns this node's own hits and theirs (one each, at one hop) and
// floods nothing. Only if none does is the network searched as above.
func (n *Node) Search(ctx context.Context, query string) ([]Hit, error) {
	var set hitSet
	if err := n.searchEach(ctx, query, func(h Hit) { set.add(h) }); err != nil {
		return nil, err
	}
	slices.SortFunc(set.hits, func(a, b Hit) int {
		return cmp.Or(cmp.Compare(a.Hops, b.Hops), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Peer, b.Peer))
	})
	return set.hits, nil
}

// SearchFunc is Search for a front-end that shows hits as they arrive:
// fn is called once for each holder and name, on the goroutine calling
// SearchFunc, as each peer's answer comes in, until it returns false.
// Hops is how far away the hit was first found; Search reports the
// nearest.
func (n *Node) SearchFunc(ctx context.Context, query string, fn func(Hit) bool) error {
	var set hitSet
	stopped := false
	return n.searchEach(ctx, query, func(h Hit) {
		if set.add(h) && !stopped {
			stopped = !fn(h)
		}
	})
}

// searchEach runs a search that starts here, giving each hit to fn.
func (n *Node) searchEach(ctx context.Context, query string, fn func(Hit)) error {
	if err := n.register(); err != nil {
		return err
	}
	defer n.calls.Done()
	s, err := parseSearch(query)
	if err != nil {
		return err
	}
	ctx, release := n.bind(ctx)
	if release != nil {
		defer release()
	}
	count := 0
	emit := func(hits []Hit) bool {
		for _, h := range hits {
			if count >= n.maxHits {
				return false
			}
			count++
			fn(h)
		}
		return count < n.maxHits
	}
	if s.hash != "" {
		if routed := n.routedHits(ctx, s.hash); len(routed) > 0 {
			// The router's holders, checked: no flood.
			if emit(n.localHits(ctx, s, n.maxHits)) {
				emit(routed)
			}
			return ctx.Err()
		}
	}
	id := newQueryID()
	n.seen.handle(id, 0)
	n.search(ctx, s, nil, id, n.maxHits, emit)
	return ctx.Err()
}

// hitSet keeps one hit per holder and name: the nearest.
type hitSet struct {
	hits []Hit
	at   map[hitKey]int // index in hits
}

type hitKey struct{ peer, name string }

// add adds h, or makes the hit it repeats as near as h; it reports
// whether h was new.
func (s *hitSet) add(h Hit) bool {
	k := hitKey{h.Peer, h.Name}
	if i, ok := s.at[k]; ok {
		s.hits[i].Hops = min(s.hits[i].Hops, h.Hops)
		return false
	}
	if s.at == nil {
		s.at = make(map[hitKey]int)
	}
	s.at[k] = len(s.hits)
	s.hits = append(s.hits, h)
	return true
}

// search gives emit this node's hits for s, then, within the history
// limit, each peer's as it comes, with hops counted from this node, until
// emit returns false. max is the most hits asked for.
func (n *Node) search(ctx context.Context, s search, history []string, id string, max int, emit func([]Hit) bool) {
	if !emit(n.localHits(ctx, s, max)) {
		return
	}
	history = append(slices.Clip(history), n.URL())
	if len(history) >= n.maxHistory {
		return
	}
	release, _ := n.fanOut(ctx, history, time.Time{}, func(ctx context.Context, url string) (any, error) {
		if n.states.get(url).speech == speechBook {
			return nil, nil // book nodes cannot search: passed over
		}
		return n.askSearch(ctx, url, s, history, id, max)
	}, func(url string, v any, err error) bool {
		hits, _ := v.([]Hit)
		return err == nil && !emit(hits)
	})
	if release != nil {
		release()
	}
}

// localHits returns the files of Dir that s matches, at most max.
func (n *Node) localHits(ctx context.Context, s search, max int) []Hit {
	var hits []Hit
	self := n.URL()
	present := make(map[string]bool)
	n.walk(ctx, func(name string, fi fs.FileInfo) {
		present[name] = true
		if len(hits) >= max || s.hash == "" && !s.matchesName(name) {
			return
		}
		hash := ""
		if stamp, ok := filestamp.Of(fi); ok {
			hash = n.hashes.lookup(name, stamp, fi)
		}
		if s.hash != "" && hash != s.hash {
			return
		}
		hits = append(hits, Hit{Name: name, Size: fi.Size(), Hash: hash, Peer: self})
	})
	if ctx.Err() == nil {
		n.hashes.prune(present)
	}
	return hits
}

// askSearch runs the search on the peer at url, with filepeer.search,
// and checks what it answers: hits a peer sends are hostile until each
// field is checked, and at most max of them are kept.
func (n *Node) askSearch(ctx context.Context, url string, s search, history []string, id string, max int) ([]Hit, error) {
	p, err := n.tr.Dial(url)
	if err != nil {
		return nil, err
	}
	c, ok := p.(transport.Caller)
	if !ok {
		return nil, nil
	}
	v, err := c.Call(ctx, methodSearch, s.text, history, id, max)
	var f *Fault
	switch {
	case err == nil:
		n.noteAnswer(url, nil, speechExt)
	case errors.As(err, &f) && (f.Code == Unhandled || f.Code == AccessDenied):
		n.noteAnswer(url, err, speechExt)
		return nil, err
	case f != nil:
		n.noteAnswer(url, err, speechBook) // a book node: passed over from now on
		return nil, err
	default:
		return nil, err
	}
	hits, err := n.checkHits(v, max)
	if err != nil {
		return nil, fmt.Errorf("peer: search %s: %w", url, err)
	}
	return hits, nil
}

// checkHits reads a peer's answer to filepeer.search, one hop further.
func (n *Node) checkHits(v any, max int) ([]Hit, error) {
	vals, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("the answer is %T, not an array", v)
	}
	hits := make([]Hit, 0, min(len(vals), max))
	for _, v := range vals[:min(len(vals), max)] {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("a hit is %T, not a struct", v)
		}
		name, _ := m["name"].(string)
		size, sizeOK := m["size"].(int64)
		hash, hashOK := m["hash"].(string)
		peer, _ := m["peer"].(string)
		hops, hopsOK := m["hops"].(int64)
		switch {
		case !validName(name):
			return nil, fmt.Errorf("a hit's name %q is not a file name", truncate(name))
		case !sizeOK || size < 0:
			return nil, fmt.Errorf("hit %q: bad size", truncate(name))
		case !hashOK || hash != "" && !validHash(hash):
			return nil, fmt.Errorf("hit %q: bad hash", truncate(name))
		case !validURL(peer):
			return nil, fmt.Errorf("hit %q: bad peer URL", truncate(name))
		case !hopsOK || hops < 0 || hops >= int64(n.maxHistory):
			return nil, fmt.Errorf("hit %q: bad hops", truncate(name))
		}
		hits = append(hits, Hit{Name: name, Size: size, Hash: hash, Peer: peer, Hops: int(hops) + 1})
	}
	return hits, nil
}

// serveSearch answers filepeer.search: this node's hits and those of its
// peers within the limit, merged (one per holder and name, the nearest),
// or none at once for a search it has handled already.
func (n *Node) serveSearch(ctx context.Context, text string, history []string, id string, max int) ([]any, error) {
	if err := n.register(); err != nil {
		return nil, err
	}
	defer n.calls.Done()
	s, err := parseSearch(text)
	if err != nil {
		return nil, err
	}
	for _, h := range history {
		if !validURL(h) {
			return nil, fmt.Errorf("peer: search: history holds %q, which no peer could be sent", truncate(h))
		}
	}
	max = min(max, n.maxHits)
	out := []any{}
	if max <= 0 || !n.seen.handle(id, len(history)) {
		return out, nil
	}
	var set hitSet
	n.search(ctx, s, history, id, max, func(batch []Hit) bool {
		for _, h := range batch {
			if len(set.hits) >= max {
				return false
			}
			set.add(h)
		}
		return len(set.hits) < max
	})
	for _, h := range set.hits {
		out = append(out, map[string]any{"name": h.Name, "size": h.Size, "hash": h.Hash, "peer": h.Peer, "hops": h.Hops})
	}
	return out, nil
}
