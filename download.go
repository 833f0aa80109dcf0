package peer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filepeer/peer/transport"
)

// ErrHashMismatch is returned, wrapped, by a fetch whose holders sent
// contents that do not have the hash they announced. Nothing is placed
// under the name, and those holders are not asked for those contents
// again.
var ErrHashMismatch = errors.New("peer: the contents do not match the hash their holder announced")

// FetchStatus tells what a fetch did.
type FetchStatus int

// What a fetch did.
const (
	// Fetched: the file was brought and checked against the hash its
	// holders announced.
	Fetched FetchStatus = iota + 1
	// AlreadyHere: a file of that name was in Dir, and was left as it is.
	AlreadyHere
	// FetchedUnverified: the file was brought from a holder that
	// announced no hash (a book node, or a Go node that had not hashed
	// it yet), and stored as it came.
	FetchedUnverified
)

// String says what the status means, as a front-end could show it.
func (s FetchStatus) String() string {
	switch s {
	case Fetched:
		return "fetched"
	case AlreadyHere:
		return "already here"
	case FetchedUnverified:
		return "fetched, not verified"
	}
	return fmt.Sprintf("FetchStatus(%d)", int(s))
}

// FetchResult is what Download did.
type FetchResult struct {
	Name   string      // the name fetched
	Status FetchStatus // what the fetch did
	Size   int64       // the file's bytes; -1 if not known
	Hash   string      // the SHA-256 the contents were checked against; "" unless Fetched
	// Holders are the URLs of the holders that sent verified pieces,
	// sorted; none for a file that came by query.
	Holders []string
	// Resumed is how many bytes were kept from an earlier, interrupted
	// fetch of the same contents instead of being fetched again.
	Resumed int64
}

// FetchProgress is how far a fetch has come, as Config.FetchProgress is
// told.
type FetchProgress struct {
	Name string // the name being fetched
	// Bytes is the bytes in place so far, those kept from an interrupted
	// fetch included. It steps back when a piece that failed its check
	// is dropped, or when a piece is taken from a slow holder to be
	// fetched again from another.
	Bytes   int64
	Size    int64 // the file's size; -1 if not known (a book node's file)
	Holders int   // the holders sending pieces now
}

// maxHolders caps the holders a fetch asks at once; others stand by, to
// take the place of one that fails. perHolder is how many pieces a holder
// is asked for at a time: two, so that the next is asked before one ends.
const (
	maxHolders = 8
	perHolder  = 2
	// maxHolderFailures is how many failed pieces in a row drop a holder.
	maxHolderFailures = 2
	// Once no piece waits for a holder, a piece that has taken longer
	// than outrunAfter times an idle holder's mean piece, and at least
	// outrunFloor, is taken from its holder and given to the idle one
	// (see run): the end of a fetch waits for no slow holder.
	outrunAfter = 2
	outrunFloor = time.Second
)

// Download is Fetch, telling what it did: whether the file was fetched
// and verified, was already here, or was fetched from a holder that
// announced no hash, and so not verified.
//
// A file is looked for with Search, by name, then by the hash that most
// holders of that name announce ("sha256:<hex>"), so as to find every
// holder of those contents. If some holder announced a hash, the file is fetched in
// pieces (see PROTOCOL.md, filepeer.range) from up to eight of its
// holders at once, each piece checked against the holders' piece list,
// and the whole against the hash, before the file gets its name; a
// holder that sends a bad piece is dropped, and its pieces fetched from
// the others. Pieces are written to a hidden partial file in Dir, which
// an interrupted fetch leaves behind, so that a later fetch of the same
// contents, under any name, fetches only what is missing (see
// Config.PartialTTL, RemovePartials). If no holder can be reached
// directly, the file comes by query, through the nodes between, and is
// checked against the hash all the same. A file no holder announced a
// hash for is fetched as Fetch always did, with a query.
//
// A name of the form "sha256:<hex>" asks for contents by their hash
// rather than for a name (so a file of Dir named so cannot be asked for
// by its name): they are found with a search for that hash alone (see
// Search: the Config.Router first, if the node has one) and saved under
// the name their nearest holder gives them, checked as a peer's name
// always is, or the next nearest's if a file of that name is in Dir
// already; Download fails if every holder's name is taken. The result's
// Name is the name given. If a file of Dir is known to have those
// contents (hashed already: see Index), it is AlreadyHere, under its
// name.
//
// On failure, the result says what is known (Name, and Size and Hash if
// the holders were found).
func (n *Node) Download(ctx context.Context, name, secret string) (FetchResult, error) {
	res := FetchResult{Name: name, Size: -1}
	ctx, cancel, err := n.enter(ctx)
	if err != nil {
		return res, err
	}
	defer n.calls.Done()
	defer cancel()
	if n.guesses.waiting(ctx) {
		n.log.Warn("fetch refused: too many wrong secrets from the caller", "name", truncate(name))
		return res, denied()
	}
	if !secretMatches(n.secret, secret) {
		n.guesses.wrong(ctx)
		n.log.Warn("fetch refused: wrong secret", "name", truncate(name))
		return res, denied()
	}
	n.guesses.right(ctx)
	if hash, ok := contentsName(name); ok {
		return n.downloadContents(ctx, hash)
	}
	switch _, _, err := n.stat(name); {
	case err == nil:
		res.Status = AlreadyHere // not rewritten
		if fi, err := n.root.Stat(name); err == nil {
			res.Size = fi.Size()
		}
		return res, nil
	case !errors.Is(err, ErrUnhandled):
		return res, err
	}
	if fi, err := n.root.Stat(name); err == nil && fi.IsDir() {
		return res, fmt.Errorf("peer: fetch %q: a directory of that name is in Dir", truncate(name))
	}
	ctx, meter := n.bounds.meter(ctx)
	defer meter.stop()
	src, err := n.findHolders(ctx, name)
	if err != nil {
		return res, fmt.Errorf("peer: fetch %q: %w", truncate(name), fetchCause(ctx, err))
	}
	if src.hash == "" {
		res.Status = FetchedUnverified
		if err := n.fetchByQuery(ctx, name, meter, "", -1); err != nil {
			return res, err
		}
		if fi, err := n.root.Stat(name); err == nil {
			res.Size = fi.Size()
		}
		n.log.Info("fetched, not verified", "name", name)
		return res, nil
	}
	return n.fetchAgain(ctx, name, src, meter)
}

// fetchAgain is fetchSources, tried once more if it was sent wrong
// bytes, from the holders not found lying: those whose piece lists
// disputed a list that turned out to lie, say. A node with a router
// searches again, as the holders the router named may all have been
// liars, which the second search passes over, flooding if no other
// holder is found.
func (n *Node) fetchAgain(ctx context.Context, name string, src sources, meter *fetchMeter) (FetchResult, error) {
	res, err := n.fetchSources(ctx, name, src, meter)
	if err == nil || !errors.Is(err, ErrHashMismatch) || ctx.Err() != nil {
		return res, err
	}
	again := src
	again.holders = slices.DeleteFunc(slices.Clone(src.holders), func(h holder) bool { return n.liars.has(src.hash, h.url) })
	if n.routing.router != nil {
		if found, serr := n.holdersOf(ctx, src.hash, src.size); serr == nil {
			again = found
		}
	}
	if len(again.holders) == 0 {
		return res, err
	}
	n.log.Info("holders sent wrong bytes: fetching from others", "name", name, "hash", src.hash, "err", err)
	return n.fetchSources(ctx, name, again, meter)
}

// fetchSources fetches the contents of src, verified, into name: in
// pieces from its holders, or by query if none can be reached directly.
func (n *Node) fetchSources(ctx context.Context, name string, src sources, meter *fetchMeter) (FetchResult, error) {
	res, err := n.fetchVerified(ctx, name, src, meter)
	if err != nil && relayable(ctx, err) {
		// No holder could be reached directly (a search's hits come back
		// along its path, as a query's file does, but pieces need a
		// connection of their own): the file comes by query, through
		// the nodes between, and is checked against the hash all the
		// same.
		n.log.Info("no holder reachable for pieces: fetching by query", "name", name, "err", err)
		res = FetchResult{Name: name, Status: Fetched, Size: src.size, Hash: src.hash}
		if err = n.fetchByQuery(ctx, name, meter, src.hash, src.size); err == nil {
			n.removePartial(src.hash)
		}
		if errors.Is(err, ErrHashMismatch) {
			// Whoever answered the query holds other contents under
			// that name: nothing is placed.
			return res, err
		}
	}
	if err != nil {
		return res, fmt.Errorf("peer: fetch %q: %w", truncate(name), fetchCause(ctx, err))
	}
	n.log.Info("fetched", "name", name, "hash", src.hash, "holders", len(res.Holders), "resumed", res.Resumed)
	return res, nil
}

// relayable reports whether a verified fetch that failed with err may
// yet succeed by query: it did not end for the fetch's context, a bound,
// or bytes that were wrong.
func relayable(ctx context.Context, err error) bool {
	return ctx.Err() == nil && !errors.Is(err, ErrHashMismatch) && !errors.Is(err, ErrFetchTooLarge) &&
		!errors.Is(err, ErrDiskReserve) && !errors.Is(err, ErrFetchTooSlow) && !errors.As(err, new(localError))
}

// localError is a verified fetch's failure on this node's side (its
// disk, a name in the way), which a fetch by query would meet too.
type localError struct{ error }

func (e localError) Unwrap() error { return e.error }

// removePartial removes the partial file of the contents of hash, if no
// fetch is at work on it.
func (n *Node) removePartial(hash string) {
	if !n.parts.inUse(hash) {
		n.root.Remove(partName(hash))
	}
}

// fetchByQuery fetches name by query: the first holder a query finds
// sends it whole, as the book's fetch has it. If hash is not "", the
// contents must have it, and size bytes, or nothing is placed.
func (n *Node) fetchByQuery(ctx context.Context, name string, meter *fetchMeter, hash string, size int64) error {
	id := newQueryID()
	n.seen.handle(id, 0)
	body, err := n.ringed(ctx, name, nil, id)
	if err != nil {
		return fetchCause(ctx, err)
	}
	defer body.Close()
	meter.start()
	if err := n.store(ctx, name, body, meter, hash, size); err != nil {
		return fmt.Errorf("peer: fetch %q: %w", truncate(name), fetchCause(ctx, err))
	}
	return nil
}

// holder is a node that holds the contents a fetch wants, under a name of
// its own.
type holder struct {
	url, name string
}

// sources are the contents a fetch wants and who holds them.
type sources struct {
	hash    string // "" if no holder announced one
	size    int64
	holders []holder // nearest first
}

// findHolders searches the network for name, picks the contents to fetch
// (those most holders announced, the nearest if as many announce
// several), and searches again by their hash for every holder of them.
// Holders that sent wrong bytes for those contents before are left out,
// and so are hits whose URL no Hello would take.
func (n *Node) findHolders(ctx context.Context, name string) (sources, error) {
	var src sources
	hits, err := n.Search(ctx, name)
	if errors.Is(err, ErrBadSearch) {
		return src, nil // a name no search can carry: fetched by query
	}
	if err != nil {
		return src, err
	}
	self := n.URL()
	type choice struct {
		size        int64
		count, hops int
	}
	choices := make(map[string]*choice)
	best := ""
	for _, h := range hits {
		if h.Name != name || h.Peer == self || h.Hash == "" || n.liars.has(h.Hash, h.Peer) || checkPeerURL(h.Peer, n.policy) != nil {
			continue
		}
		c := choices[h.Hash]
		if c == nil {
			c = &choice{size: h.Size, hops: h.Hops}
			choices[h.Hash] = c
		}
		c.count++
		if b := choices[best]; b == nil || c.count > b.count || c.count == b.count && c.hops < b.hops {
			best = h.Hash
		}
	}
	if best == "" {
		if slices.ContainsFunc(hits, func(h Hit) bool { return h.Name == name && h.Hash != "" && n.liars.has(h.Hash, h.Peer) }) {
			return src, fmt.Errorf("%w: every holder that announced a hash sent wrong bytes before", ErrHashMismatch)
		}
		return src, nil
	}
	// If none is found now, the holders seen by name went between the
	// two searches.
	return n.holdersOf(ctx, best, choices[best].size)
}

// holdersOf searches for every holder of the contents of hash (asking
// Config.Router first: see Search), of size bytes, or, for a size of -1,
// of the size most of them announce (the nearest's, for a tie). Holders
// that sent wrong bytes for those contents before are left out, and so
// are hits whose URL no Hello would take. It fails with ErrUnhandled if
// no holder is left.
func (n *Node) holdersOf(ctx context.Context, hash string, size int64) (sources, error) {
	src := sources{hash: hash, size: size}
	hits, err := n.Search(ctx, "sha256:"+hash)
	if err != nil {
		return src, err
	}
	self := n.URL()
	usable := func(h Hit) bool {
		return h.Hash == hash && h.Peer != self && validName(h.Name) && !n.liars.has(hash, h.Peer) && checkPeerURL(h.Peer, n.policy) == nil
	}
	if size < 0 {
		count := make(map[int64]int)
		for _, h := range hits { // nearest first
			if usable(h) {
				count[h.Size]++
				if c := count[h.Size]; src.size < 0 || c > count[src.size] {
					src.size = h.Size
				}
			}
		}
	}
	seen := make(map[string]bool)
	for _, h := range hits {
		if h.Size != src.size || seen[h.Peer] || !usable(h) {
			continue
		}
		seen[h.Peer] = true
		src.holders = append(src.holders, holder{url: h.Peer, name: h.Name})
	}
	if len(src.holders) == 0 {
		if slices.ContainsFunc(hits, func(h Hit) bool { return h.Hash == hash && n.liars.has(hash, h.Peer) }) {
			return src, fmt.Errorf("%w: every holder found sent wrong bytes before", ErrHashMismatch)
		}
		return src, unhandled()
	}
	return src, nil
}

// contentsName reports whether name asks Download for contents by their
// hash, "sha256:<hex>", and returns the hash in lower case.
func contentsName(name string) (string, bool) {
	h, ok := strings.CutPrefix(name, "sha256:")
	h = strings.ToLower(h)
	return h, ok && validHash(h)
}

// downloadContents is Download of "sha256:<hash>": the contents of hash,
// found by hash alone, saved under the name its nearest holder gives
// them (the next nearest's if a file of that name is in Dir, and so on).
func (n *Node) downloadContents(ctx context.Context, hash string) (FetchResult, error) {
	res := FetchResult{Name: "sha256:" + hash, Size: -1}
	if here := n.localHits(ctx, search{hash: hash}, 1); len(here) > 0 {
		return FetchResult{Name: here[0].Name, Status: AlreadyHere, Size: here[0].Size}, nil
	}
	ctx, meter := n.bounds.meter(ctx)
	defer meter.stop()
	src, err := n.holdersOf(ctx, hash, -1)
	if err != nil {
		return res, fmt.Errorf("peer: fetch sha256:%s: %w", hash, fetchCause(ctx, err))
	}
	res.Size, res.Hash = src.size, hash
	name := ""
	for _, h := range src.holders {
		_, _, err := n.stat(h.name)
		if fi, serr := n.root.Stat(h.name); errors.Is(err, ErrUnhandled) && (serr != nil || !fi.IsDir()) {
			name = h.name
			break
		}
	}
	if name == "" {
		return res, fmt.Errorf("peer: fetch sha256:%s: every name its holders give it (%q first) is taken in Dir", hash, truncate(src.holders[0].name))
	}
	res.Name = name
	return n.fetchAgain(ctx, name, src, meter)
}

// download is one verified fetch at work.
type download struct {
	n      *Node
	name   string
	hash   string
	size   int64
	ps     int64
	f      *os.File
	meter  *fetchMeter
	want   [][sha256.Size]byte // each piece's hash
	listBy string              // the URL of the holder that sent want
	whole  *wholeHasher
	// disputed are the holders whose own piece lists back the bytes they
	// sent where want says otherwise: one of the two lists lies, and the
	// whole's hash says which.
	disputed []*source

	written atomic.Int64 // bytes in place, for progress
	using   atomic.Int64 // holders in use, for progress

	progMu sync.Mutex
	// guards the calls to the progress functions
}

// source is a holder as a download uses it. Only the download's own
// goroutine touches it.
type source struct {
	holder
	c        transport.Caller
	inflight int
	fails    int  // failed pieces in a row
	dropped  bool // not asked again
	sent     bool // sent a verified piece
	// pieces is how many verified pieces it sent, in took all told.
	pieces int
	took   time.Duration
	outrun bool // a piece was taken from it for being slow
}

// meanPiece is how long s took for a piece, on the mean, of those it
// sent (at least one).
func (s *source) meanPiece() time.Duration { return s.took / time.Duration(s.pieces) }

// fetchVerified fetches the contents of src.hash into their partial file,
// piece by piece from src's holders, checks the whole and gives it name.
func (n *Node) fetchVerified(ctx context.Context, name string, src sources, meter *fetchMeter) (FetchResult, error) {
	res := FetchResult{Name: name, Status: Fetched, Size: src.size, Hash: src.hash}
	if n.bounds.max > 0 && src.size > n.bounds.max {
		return res, fmt.Errorf("%w (%d bytes)", ErrFetchTooLarge, n.bounds.max)
	}
	d := &download{n: n, name: name, hash: src.hash, size: src.size, ps: pieceSize(src.size), meter: meter}
	var sources []*source
	for _, h := range src.holders {
		p, err := n.tr.Dial(h.url)
		if err != nil {
			continue
		}
		if c, ok := p.(transport.Caller); ok {
			sources = append(sources, &source{holder: h, c: c})
		}
	}
	if err := d.pieceList(ctx, sources); err != nil {
		return res, err
	}
	unlock, err := n.parts.lock(ctx, src.hash)
	if err != nil {
		return res, err
	}
	defer unlock()
	part := partName(src.hash)
	f, err := n.root.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return res, localError{err}
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return res, localError{err}
	}
	if !fi.Mode().IsRegular() {
		return res, localError{fmt.Errorf("%q is not a regular file", part)}
	}
	had := min(fi.Size(), src.size)
	if n.bounds.reserve > 0 {
		if free, ok := diskFree(f); ok && free-(src.size-had) < n.bounds.reserve {
			return res, fmt.Errorf("%w (%d bytes)", ErrDiskReserve, n.bounds.reserve)
		}
	}
	if err := f.Truncate(src.size); err != nil {
		return res, localError{err}
	}
	d.f = f
	have := make([]bool, len(d.want))
	if had > 0 {
		if res.Resumed, err = d.scan(ctx, have, had); err != nil {
			return res, err
		}
		d.written.Store(res.Resumed)
	}
	d.whole = newWholeHasher(ctx, f, d.size, d.ps, len(d.want))
	defer d.whole.stop()
	for i, ok := range have {
		if ok {
			d.whole.mark(i)
		}
	}
	meter.start()
	if err := d.run(ctx, sources, have); err != nil {
		return res, err
	}
	for _, s := range sources {
		if s.sent {
			res.Holders = append(res.Holders, s.url)
		}
	}
	slices.Sort(res.Holders)
	if err := d.checkWhole(ctx); err != nil {
		if errors.Is(err, ErrHashMismatch) {
			// Every piece matched the list, the whole does not: the
			// list lied. Nothing of it can be trusted. The holders that
			// disputed it are not blamed: fetchAgain tries them.
			n.liars.add(src.hash, d.listBy)
			f.Close()
			f = nil
			n.root.Remove(part)
		}
		return res, err
	}
	for _, s := range d.disputed {
		// The whole proves the list right, and so their lists wrong.
		n.liars.add(src.hash, s.url)
		n.log.Warn("holder's piece list was wrong", "peer", s.url, "hash", src.hash)
	}
	if err := f.Chmod(0o644); err != nil {
		return res, localError{err}
	}
	if err := f.Sync(); err != nil {
		return res, localError{err}
	}
	err, f = f.Close(), nil
	if err != nil {
		return res, localError{err}
	}
	if err := n.place(part, name); err != nil {
		return res, localError{err}
	}
	if err := n.root.Remove(part); err != nil && !errors.Is(err, fs.ErrNotExist) {
		n.log.Warn("could not remove a partial file", "name", part, "err", err)
	}
	return res, nil
}

// pieceList learns the hash of each piece: for a file of one piece, the
// file's hash; otherwise the list a holder sends (filepeer.pieces), from
// the first holder that sends one that holds together. The list is only
// checked against the file's hash once every piece is in (checkWhole).
func (d *download) pieceList(ctx context.Context, sources []*source) error {
	count := pieceCount(d.size, d.ps)
	if count <= 1 {
		d.want = make([][sha256.Size]byte, count)
		if count == 1 {
			hex.Decode(d.want[0][:], []byte(d.hash))
		}
		return nil
	}
	var errs []error
	for _, s := range sources {
		v, err := s.c.Call(ctx, methodPieces, s.name, d.hash)
		if err == nil {
			d.want, err = checkPieces(v, d.size)
		}
		if err == nil {
			d.listBy = s.url
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		errs = append(errs, fmt.Errorf("%s: %w", s.url, err))
	}
	return fmt.Errorf("no holder sent the piece list: %w", errors.Join(errs...))
}

// scan finds the pieces of an earlier fetch that are in place already:
// those of the first had bytes that match their hash.
func (d *download) scan(ctx context.Context, have []bool, had int64) (int64, error) {
	var kept int64
	buf := make([]byte, 64<<10)
	h := sha256.New()
	for i := range have {
		off := int64(i) * d.ps
		ln := min(d.ps, d.size-off)
		if off+ln > had {
			break
		}
		h.Reset()
		if _, err := io.CopyBuffer(h, ctxReader{ctx, io.NewSectionReader(d.f, off, ln)}, buf); err != nil {
			return 0, err
		}
		if [sha256.Size]byte(h.Sum(nil)) == d.want[i] {
			have[i] = true
			kept += ln
		}
	}
	return kept, nil
}

// pieceDone is how one piece's fetch ended.
type pieceDone struct {
	s   *source
	i   int
	err error
}

// pieceFetch is a piece being fetched: by whom, since when, and the
// holder that takes it over once its fetch, cancelled, has ended.
type pieceFetch struct {
	s      *source
	start  time.Time
	cancel context.CancelFunc
	next   *source
}

// errBadPiece is a piece that does not have the hash of the list.
var errBadPiece = errors.New("a piece does not match its hash")

// badPiece is the error of piece i, whose bytes have the hash got rather
// than the list's. It is errBadPiece.
type badPiece struct {
	i   int
	got [sha256.Size]byte
}

func (e *badPiece) Error() string        { return fmt.Sprintf("%v (piece %d)", errBadPiece, e.i) }
func (e *badPiece) Is(target error) bool { return target == errBadPiece }

// run fetches the missing pieces, each from a holder with a free slot as
// soon as it has one, so that a fast holder gets more pieces than a slow
// one, until none is missing, no holder is left or ctx ends. Once no
// piece waits for a holder, a holder left idle that has sent a piece
// takes over the piece that has run longest, if that piece has run for
// outrunAfter times the idle holder's mean piece and at least
// outrunFloor: the slow holder's fetch
// of it is cancelled and ended before the idle one starts, so that one
// fetch at a time writes a piece's bytes. It returns once every piece it
// started has ended.
func (d *download) run(ctx context.Context, sources []*source, have []bool) error {
	var queue []int
	for i, ok := range have {
		if !ok {
			queue = append(queue, i)
		}
	}
	done := make(chan pieceDone)
	running := make(map[int]*pieceFetch)
	start := func(s *source, i int) {
		pctx, cancel := context.WithCancel(ctx)
		running[i] = &pieceFetch{s: s, start: time.Now(), cancel: cancel}
		go func() { done <- pieceDone{s, i, d.fetchPiece(pctx, s, i)} }()
	}
	// A holder that sent a bad piece is asked for its own list (vouch)
	// off this loop, so that one slow to answer holds up no piece; once
	// every piece is in, the answers still out are not waited for.
	type verdict struct {
		s *source
		i int
		v int
	}
	verdicts := make(chan verdict)
	vouching := 0
	vctx, stopVouching := context.WithCancel(ctx)
	defer stopVouching()
	bad := false // a holder sent a piece that failed the list
	var lastErr error
	active := func() []*source {
		var out []*source
		for _, s := range sources {
			if !s.dropped && len(out) < maxHolders {
				out = append(out, s)
			}
		}
		return out
	}
	outrun := time.NewTimer(time.Hour)
	outrun.Stop()
	defer outrun.Stop()
	for {
		use := active()
		d.using.Store(int64(len(use)))
		for _, s := range use {
			for ctx.Err() == nil && s.inflight < perHolder && len(queue) > 0 {
				i := queue[0]
				queue = queue[1:]
				s.inflight++
				start(s, i)
			}
		}
		if len(queue) == 0 && ctx.Err() == nil {
			if wait := d.outrun(use, running); wait > 0 {
				outrun.Reset(wait)
			}
		}
		if len(running) == 0 {
			if vouching == 0 {
				break
			}
			if len(queue) == 0 {
				stopVouching()
			}
		}
		select {
		case <-outrun.C:
			continue
		case v := <-verdicts:
			vouching--
			switch v.v {
			case vouched:
				d.disputed = append(d.disputed, v.s)
				d.n.log.Warn("holder's piece list disagrees: set aside until the whole is checked", "peer", v.s.url, "hash", d.hash, "piece", v.i)
			case contradicted:
				// A lying or broken holder: never again, for these
				// contents.
				d.n.liars.add(d.hash, v.s.url)
				d.n.log.Warn("holder sent a bad piece: dropped", "peer", v.s.url, "hash", d.hash, "piece", v.i)
			}
			continue
		case r := <-done:
			f := running[r.i]
			delete(running, r.i)
			f.cancel()
			r.s.inflight--
			if next := f.next; next != nil {
				next.inflight-- // its slot, held for the piece
				if r.err != nil {
					if ctx.Err() == nil && !next.dropped {
						next.inflight++
						start(next, r.i)
					} else {
						queue = append(queue, r.i)
					}
					if errors.Is(r.err, context.Canceled) {
						continue // taken from a slow holder, not failed by it
					}
					// It failed before the cancel took: that counts, below.
				}
			}
			if r.err == nil {
				r.s.fails, r.s.sent = 0, true
				r.s.pieces++
				r.s.took += time.Since(f.start)
				d.whole.mark(r.i)
				continue
			}
			if f.next == nil {
				queue = append(queue, r.i)
			}
			if ctx.Err() != nil {
				continue
			}
			lastErr = fmt.Errorf("%s: %w", r.s.url, r.err)
			var ft *Fault
			var bp *badPiece
			switch {
			case errors.As(r.err, &bp):
				bad = true
				if r.s.dropped {
					break // set aside or dropped by a piece of its that ended first
				}
				r.s.dropped = true
				s := r.s
				vouching++
				go func() { verdicts <- verdict{s, bp.i, d.vouch(vctx, s, bp)} }()
			case errors.As(r.err, &ft):
				r.s.dropped = true // it does not have those contents (any more)
			default:
				r.s.fails++
				r.s.dropped = r.s.fails >= maxHolderFailures
			}
		}
	}
	d.using.Store(0)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case len(queue) == 0:
		return nil
	case bad:
		return fmt.Errorf("%w: %d of %d pieces missing, no honest holder left (%v)", ErrHashMismatch, len(queue), len(have), lastErr)
	}
	return fmt.Errorf("%d of %d pieces missing, no holder left: %w", len(queue), len(have), lastErr)
}

// outrun gives the pieces running longest to the holders of use left
// idle that have sent a piece (so that their mean piece says how fast
// they are) and have not had one taken from them for being slow, where a
// piece has run outrunAfter times the idle holder's mean piece and at
// least outrunFloor: it cancels the piece's fetch and reserves the
// idle holder's slot, for run to start the piece there once the fetch has
// ended. It returns how long until the next piece could be given so, or
// 0 if none could.
func (d *download) outrun(use []*source, running map[int]*pieceFetch) time.Duration {
	now := time.Now()
	var wait time.Duration
	for _, h := range use {
		for h.inflight < perHolder && !h.outrun && h.pieces > 0 {
			i, f := -1, (*pieceFetch)(nil)
			for j, g := range running {
				if g.next == nil && g.s != h && (f == nil || g.start.Before(f.start)) {
					i, f = j, g
				}
			}
			if f == nil {
				break
			}
			after := max(outrunAfter*h.meanPiece(), outrunFloor)
			if age := now.Sub(f.start); age < after {
				if w := after - age; wait == 0 || w < wait {
					wait = w
				}
				break
			}
			f.next = h
			h.inflight++
			f.s.outrun = true
			f.cancel()
			d.n.log.Info("piece taken from a slow holder", "peer", f.s.url, "to", h.url, "hash", d.hash, "piece", i)
		}
	}
	return wait
}

// A holder's answer, asked for its own piece list, to a piece of its that
// the download's list says is bad.
const (
	unvouched    = iota // no list came: a failed holder, not a proven liar
	vouched             // its list backs its bytes: the lists disagree
	contradicted        // its own list says its bytes are wrong
)

// vouch asks s, whose piece bad.i did not match the list, for its own
// piece list. A piece list is one holder's word: before s is taken for a
// liar, its bytes are held against its own word. A holder that sent the
// download's list has given it already, and a file of one piece has its
// hash for a list.
func (d *download) vouch(ctx context.Context, s *source, bad *badPiece) int {
	if s.url == d.listBy || len(d.want) == 1 {
		// It gave the list, or the list is the file's hash.
		return contradicted
	}
	v, err := s.c.Call(ctx, methodPieces, s.name, d.hash)
	if err != nil {
		return unvouched
	}
	own, err := checkPieces(v, d.size)
	switch {
	case err != nil:
		return contradicted // a list that does not hold together
	case own[bad.i] == bad.got:
		return vouched
	}
	return contradicted
}

// fetchPiece fetches piece i from s into place with filepeer.range,
// checking it as it streams.
func (d *download) fetchPiece(ctx context.Context, s *source, i int) (err error) {
	off := int64(i) * d.ps
	ln := min(d.ps, d.size-off)
	if b := d.n.bounds; b.reserve > 0 {
		if free, ok := diskFree(d.f); ok && free-ln < b.reserve {
			return fmt.Errorf("%w (%d bytes)", ErrDiskReserve, b.reserve)
		}
	}
	body, err := s.c.Open(ctx, methodRange, s.name, d.hash, off, ln)
	if err != nil {
		return err
	}
	defer body.Close()
	h := sha256.New()
	w := &pieceWriter{d: d, off: off}
	defer func() {
		if err != nil {
			d.written.Add(-w.n) // not in place after all
			d.report()
		}
	}()
	buf := make([]byte, 64<<10)
	got, err := io.CopyBuffer(io.MultiWriter(h, w), io.LimitReader(ctxReader{ctx, body}, ln), buf)
	switch {
	case err != nil:
		return err
	case got < ln:
		return fmt.Errorf("the holder sent %d bytes of a piece of %d: %w", got, ln, io.ErrUnexpectedEOF)
	}
	if got := [sha256.Size]byte(h.Sum(nil)); got != d.want[i] {
		return &badPiece{i: i, got: got}
	}
	return nil
}

// pieceWriter writes a piece into the partial file, where it goes.
type pieceWriter struct {
	d   *download
	off int64
	n   int64
}

func (w *pieceWriter) Write(p []byte) (int, error) {
	k, err := w.d.f.WriteAt(p, w.off+w.n)
	w.n += int64(k)
	w.d.meter.bytes.Add(int64(k))
	w.d.written.Add(int64(k))
	w.d.report()
	return k, err
}

// report tells the node's progress functions how far the download is.
func (d *download) report() {
	prog, old := d.n.fetchProg, d.n.progress
	if prog == nil && old == nil {
		return
	}
	d.progMu.Lock()
	defer d.progMu.Unlock()
	bytes := d.written.Load()
	if old != nil {
		old(d.name, bytes)
	}
	if prog != nil {
		prog(FetchProgress{Name: d.name, Bytes: bytes, Size: d.size, Holders: int(d.using.Load())})
	}
}

// checkWhole checks the hash of the finished partial file.
func (d *download) checkWhole(ctx context.Context) error {
	got, err := d.whole.sum(ctx)
	if err != nil {
		return err
	}
	if got != d.hash {
		return fmt.Errorf("%w: the whole has SHA-256 %s, not %s", ErrHashMismatch, got, d.hash)
	}
	return nil
}

// maxLiars bounds the (contents, holder) pairs a node remembers as
// having sent wrong bytes; past it, it starts over.
const maxLiars = 4096

// liars are the holders that sent wrong bytes, per contents. Safe for
// concurrent use.
type liars struct {
	mu sync.Mutex
	// guards of
	of map[[2]string]bool // {hash, url}
}

func (l *liars) add(hash, url string) {
	if url == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.of == nil || len(l.of) >= maxLiars {
		l.of = make(map[[2]string]bool)
	}
	l.of[[2]string{hash, url}] = true
}

func (l *liars) has(hash, url string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.of[[2]string{hash, url}]
}
