package peer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/filepeer/peer/internal/filestamp"
	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// DefaultMaxHistory is the book's MAX_HISTORY_LENGTH: a query travels at
// most DefaultMaxHistory-1 hops.
const DefaultMaxHistory = 6

// DefaultMaxKnown caps the known peers of a node whose Config leaves
// MaxKnown zero, so that a flood of hellos cannot grow it without bound.
const DefaultMaxKnown = 1024

// DefaultFanout is how many known peers a node asks at once when
// Config.Fanout is zero.
const DefaultFanout = 128

// DefaultQueryTimeout bounds the search of a query the node passes on
// when Config.QueryTimeout is zero.
const DefaultQueryTimeout = 30 * time.Second

// maxURLLen caps the length of a peer URL accepted by Hello.
const maxURLLen = 2048

// Config configures a Node. Only URL and Dir are required.
type Config struct {
	// URL is the node's identity and address, e.g. "http://127.0.0.1:4242"
	// or, on an in-memory network, any string such as "mem://a". It goes
	// into query histories. Required. Over XML-RPC, port 0 asks for any
	// free port; URL then tells the one Start got.
	URL string

	// Dir is the shared directory: files are served from it and fetched
	// into it. It must exist, and belongs to this node alone.
	Dir string

	// Secret is the password of the node's trusted party, required by
	// Fetch. If empty, Fetch is refused to everyone. NewSecret makes one.
	Secret string

	// Transport carries the protocol. If nil, the node speaks XML-RPC over
	// HTTP, compatible with the book's Python nodes, and closes that
	// transport when it closes.
	Transport transport.Transport

	// MaxHistory caps a query's history; the query is not passed on once
	// the history, with this node added, reaches it. If zero, it is
	// DefaultMaxHistory (6), as in the book, so that a network of Go and
	// Python nodes behaves as one.
	MaxHistory int

	// MaxKnown caps the number of known peers. If zero, it is
	// DefaultMaxKnown.
	MaxKnown int

	// Fanout is how many known peers the node asks at once when it passes
	// a query on; the first to find the file wins, and the others are
	// cancelled. If zero, it is DefaultFanout (128). 1 asks one peer at a
	// time, in URL order, as the book's node does. A query that starts
	// here asks its peers for their own files first, Fanout at a time
	// too, and goes the whole way only if none has the file (see
	// PROTOCOL.md, How a Go node starts a query); with 1, it walks as the
	// book's node does from the start.
	Fanout int

	// MaxHits caps the hits of one Search, and how many the node sends
	// for a peer's. If zero, it is DefaultMaxHits (1,000).
	MaxHits int

	// QueryTimeout bounds the search of a query the node passes on: the
	// wait for a peer to start sending the file. The file then streams
	// for as long as it takes. A query that starts here waits at most
	// this for the ring of its peers' own files and the full depth
	// together (see PROTOCOL.md, How a Go node starts a query); the ring
	// ends within a few round trips unless no peer answers. It is also how
	// long the node remembers a query it has handled, so that copies
	// arriving by other paths are answered at once. If zero, it is
	// DefaultQueryTimeout (30s).
	QueryTimeout time.Duration

	// CacheFiles is how many small files (up to 64 KiB) the node keeps in
	// memory, checked against the disk on every query. If zero, it is
	// DefaultCacheFiles; if negative, nothing is cached.
	CacheFiles int

	// PeerPolicy, if not nil, is asked about every http:// or https://
	// URL that Hello would add, after the node's own checks (see
	// Hello): a program can allow, say, only its LAN's addresses. If
	// nil, every URL that passes those checks is allowed.
	PeerPolicy PeerPolicy

	// HelloRate is how many hellos a second a node takes from one caller
	// address (as the transport tells it: see transport.CallerAddr),
	// after a burst of HelloBurst; more are refused with ErrLimited. If
	// zero, it is DefaultHelloRate (1); if negative, there is no limit.
	HelloRate float64

	// GuessRate sets the back-off of a caller address that sends wrong
	// secrets: after a burst of GuessBurst, each wrong one makes it wait
	// 1/GuessRate seconds before its next fetch is heard, twice as long
	// after the next, and so on up to an hour; a right secret ends it.
	// While a caller waits, all its fetches are refused with
	// ErrAccessDenied, the secret unchecked, so that guessing gains
	// nothing. If zero, it is DefaultGuessRate (a first wait of 10s); if
	// negative, there is no limit. The node's own program, calling
	// Fetch directly, is never limited.
	GuessRate float64

	// MaxFetchBytes caps the size of a file Fetch stores (after any gzip
	// is undone); a larger one fails with ErrFetchTooLarge and leaves
	// nothing in Dir. If zero, it is DefaultMaxFetchBytes (16 GiB); if
	// negative, there is no cap.
	MaxFetchBytes int64

	// DiskReserve is the free space, in bytes, that Fetch leaves on
	// Dir's file system: a fetch that would eat into it fails with
	// ErrDiskReserve and leaves nothing in Dir. Checked every 4 MiB
	// written, on Linux. If zero, it is DefaultDiskReserve (256 MiB); if
	// negative, none is kept.
	DiskReserve int64

	// MinFetchRate and FetchRateWindow are the transfer-rate floor of a
	// fetch: one that brings fewer than MinFetchRate bytes a second over
	// a whole FetchRateWindow fails with ErrFetchTooSlow. If zero, they
	// are DefaultMinFetchRate (1 KiB/s) and DefaultFetchRateWindow
	// (60s); a negative MinFetchRate means no floor.
	MinFetchRate    int64
	FetchRateWindow time.Duration

	// Logger receives the node's log records. If nil, the node logs
	// nothing. The secret is never logged.
	Logger *slog.Logger

	// Progress, if not nil, is called while Fetch writes a file, with the
	// file's name and the bytes written so far, one call at a time, from
	// the goroutines doing the fetch; it should return quickly. A
	// front-end can show a progress bar with it; FetchProgress also tells
	// the file's size.
	Progress func(name string, written int64)

	// FetchProgress, if not nil, is called while Fetch or Download brings
	// a file, with the bytes so far, the file's size where it is known
	// and the holders in use (see FetchProgress). Calls come one at a
	// time, from the goroutines doing the fetch; it should return
	// quickly. If nil, nothing is reported beyond Progress.
	FetchProgress func(FetchProgress)

	// PartialTTL is how long the partial file of an interrupted fetch is
	// kept in Dir, hidden, for a later fetch of the same contents to
	// resume from, after it was last written: Start removes older ones
	// (RemovePartials removes them all). If zero, it is
	// DefaultPartialTTL (7 days); if negative, Start removes none.
	PartialTTL time.Duration

	// PingInterval is how often, from Start to Close, the node checks that
	// each known peer answers (see liveness.go), with ±10% jitter; a peer
	// that fails is checked again after a quarter of it. If zero, it is
	// DefaultPingInterval (30s); if negative, the node pings nobody. A
	// failed query forgets its peer at once, pinging or not.
	PingInterval time.Duration

	// PingFailures is how many failed pings in a row make the node forget
	// a peer. If zero, it is DefaultPingFailures (3).
	PingFailures int

	// TargetPeers is how many known peers the node keeps, by asking its
	// peers for theirs (filepeer.peers) every PingInterval while it knows
	// fewer. It must not exceed MaxKnown. If zero, it is
	// DefaultTargetPeers (16), or MaxKnown if that is smaller; if
	// negative, the node discovers no peers.
	TargetPeers int

	// LeaveTimeout bounds how long Close spends telling the known peers
	// that the node is going (filepeer.bye). If zero, it is
	// DefaultLeaveTimeout (2s); if negative, Close tells nobody.
	LeaveTimeout time.Duration

	// PeersFile, if not empty, names a file where the node keeps its known
	// peers across restarts: read by Start, which says hello to each, and
	// written atomically while the node runs and at Close. A missing or
	// corrupt file is a logged warning and no peers, never a failed
	// Start. It must not be inside Dir.
	PeersFile string

	// OnPeer, if not nil, is called when a peer joins the known peers,
	// leaves or is forgotten, on the goroutine that made the change, with
	// no lock of the node held; calls may come from several goroutines at
	// once, and it should return quickly.
	OnPeer func(PeerEvent)

	// Router, if not nil, finds holders of contents beyond the known
	// peers (see ContentRouter): the node announces to it the hash of
	// each file of Dir once it is hashed (Start has them hashed in the
	// background), and a Search for "sha256:<hex>", or a Download of
	// known contents, asks it first and floods the network only if no
	// holder it names confirms it has the contents within a quarter of
	// QueryTimeout. If nil, there is no routing: searches flood, as ever.
	Router ContentRouter

	// ProvideInterval is how often the node announces each hash to
	// Router again, so that the router's records of it do not expire. If
	// zero, it is DefaultProvideInterval (12h); it must not be negative.
	ProvideInterval time.Duration
}

// Node is a peer of the file-sharing network: it serves the files of its
// shared directory, passes on the queries it cannot answer, and fetches
// files for its trusted party. A Node is safe for concurrent use.
type Node struct {
	secret     string
	maxHistory int
	maxKnown   int
	fanout     int
	maxHits    int
	queryTime  time.Duration
	tr         transport.Transport
	ownsTr     bool // tr was made by New, so Close closes it
	root       *os.Root
	log        *slog.Logger
	http       http.Handler
	cache      *fileCache // nil: no cache
	progress   func(name string, written int64)
	fetchProg  func(FetchProgress) // nil: not reported
	partialTTL time.Duration       // <= 0: Start removes no partial file
	pieces     pieceCache          // piece lists served lately: pieces.go
	parts      partials            // fetches at work on partial files: partial.go
	liars      liars               // holders that sent wrong bytes: download.go
	seen       *seenQueries        // the queries handled lately
	rings      []int               // the hops of the rings a query that starts here reaches first: ring.go
	probes     *workQueue          // peers said hello for over the network, to probe
	hashes     *hashes             // the files' SHA-256, per version
	states     peerStates          // what each known peer answered and speaks
	policy     PeerPolicy
	hellos     *callerLimits // nil: no limit
	guesses    *guessBackoff // wrong secrets; nil: no limit
	bounds     fetchBounds
	living             // pings, discovery, leaving, PeersFile, OnPeer: liveness.go
	methods    methods // the program's own remote methods: methods.go
	routing    routing // announcing to Config.Router: routing.go

	// ctx is done when the node closes; it ends the node's in-flight work.
	ctx    context.Context
	cancel context.CancelFunc
	// served is ctx marked with servedKey: the base of the contexts of
	// the calls the node's own listener serves (transport.Contexter).
	served context.Context
	// calls counts the calls running in the node; Close waits for them.
	calls sync.WaitGroup

	mu sync.Mutex
	// guards url, known, listener and closed
	url      string   // set by New, and by Start for a URL with port 0
	known    []string // sorted; replaced, never modified (see peers)
	listener io.Closer
	closed   bool
}

// New returns a node configured by cfg. It opens Dir but serves nothing
// until Start.
func New(cfg Config) (*Node, error) {
	switch {
	case cfg.URL == "":
		return nil, errors.New("peer: Config.URL is empty")
	case !validURL(cfg.URL):
		return nil, fmt.Errorf("peer: Config.URL %q has a space or a character no peer could be sent", truncate(cfg.URL))
	case cfg.Dir == "":
		return nil, errors.New("peer: Config.Dir is empty")
	case cfg.MaxHistory < 0:
		return nil, fmt.Errorf("peer: Config.MaxHistory is negative (%d)", cfg.MaxHistory)
	case cfg.MaxKnown < 0:
		return nil, fmt.Errorf("peer: Config.MaxKnown is negative (%d)", cfg.MaxKnown)
	case cfg.MaxHits < 0:
		return nil, fmt.Errorf("peer: Config.MaxHits is negative (%d)", cfg.MaxHits)
	case cfg.Fanout < 0:
		return nil, fmt.Errorf("peer: Config.Fanout is negative (%d)", cfg.Fanout)
	case cfg.QueryTimeout < 0:
		return nil, fmt.Errorf("peer: Config.QueryTimeout is negative (%v)", cfg.QueryTimeout)
	}
	if err := checkLiving(cfg); err != nil {
		return nil, err
	}
	if err := checkRouting(cfg); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("peer: shared directory: %w", err)
	}
	n := &Node{
		url:        cfg.URL,
		secret:     cfg.Secret,
		maxHistory: cmp.Or(cfg.MaxHistory, DefaultMaxHistory),
		maxKnown:   cmp.Or(cfg.MaxKnown, DefaultMaxKnown),
		fanout:     cmp.Or(cfg.Fanout, DefaultFanout),
		maxHits:    cmp.Or(cfg.MaxHits, DefaultMaxHits),
		queryTime:  cmp.Or(cfg.QueryTimeout, DefaultQueryTimeout),
		tr:         cfg.Transport,
		root:       root,
		log:        cfg.Logger,
		cache:      newFileCache(cfg.CacheFiles),
		progress:   cfg.Progress,
		fetchProg:  cfg.FetchProgress,
		partialTTL: cmp.Or(cfg.PartialTTL, DefaultPartialTTL),
		policy:     cfg.PeerPolicy,
		hellos:     newCallerLimits(cfg.HelloRate, DefaultHelloRate, HelloBurst),
		guesses:    newGuessBackoff(cfg.GuessRate, DefaultGuessRate),
		bounds:     newFetchBounds(cfg),
		rings:      []int{ringHops},
	}
	n.living.configure(cfg, n.maxKnown)
	if n.tr == nil {
		n.tr, n.ownsTr = xmlrpc.New(xmlrpc.Config{}), true
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.log = n.log.With("node", cfg.URL)
	n.seen = newSeenQueries(n.queryTime)
	n.probes = newWorkQueue(n, probesAtOnce, probesWaiting, n.probe)
	n.hashes = newHashes(n)
	n.configureRouting(cfg)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.served = context.WithValue(n.ctx, servedKey{}, n)
	n.http = xmlrpc.NewHandler(server{n})
	return n, nil
}

// URL returns the node's URL: Config.URL, or, after Start, the address the
// transport listens at when Config.URL asked for any free port (":0").
func (n *Node) URL() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.url
}

// Start serves the node at its URL over its transport, after sweeping the
// temporary files an interrupted fetch may have left in Dir (and partial
// files older than Config.PartialTTL; younger ones are kept for a later
// fetch to resume from), then says
// hello to the peers of Config.PeersFile and starts the node's background
// work (pings, discovery: see liveness.go; announcing its files to
// Config.Router: see routing.go), which Close ends. A node
// starts once.
func (n *Node) Start() error {
	if err := n.start(); err != nil {
		return err
	}
	n.awaken()
	n.startRouting()
	return nil
}

func (n *Node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if n.listener != nil {
		return errors.New("peer: node already started")
	}
	n.sweep()
	if n.partialTTL > 0 {
		n.removePartials(time.Now().Add(-n.partialTTL))
	}
	l, err := n.tr.Listen(n.url, server{n})
	if err != nil {
		return fmt.Errorf("peer: start: %w", err)
	}
	n.listener = l
	// A transport that chose the port tells the URL it chose.
	if u, ok := l.(interface{ URL() string }); ok && u.URL() != "" {
		n.url = u.URL()
	}
	n.log.Info("serving", "url", n.url, "dir", n.root.Name())
	return nil
}

// Close stops serving, cancels the node's in-flight work and waits for it
// to end. Calls after Close return ErrClosed. Close is safe to call more
// than once; later calls return nil.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	l := n.listener
	n.mu.Unlock()

	n.cancel()
	var errs []error
	if l != nil {
		errs = append(errs, l.Close())
	}
	n.bg.Wait()
	if l != nil {
		n.leave() // after the listener: a peer told checks that nobody answers
	}
	n.calls.Wait()
	n.savePeers()
	if c, ok := n.tr.(io.Closer); ok && n.ownsTr {
		errs = append(errs, c.Close())
	}
	errs = append(errs, n.root.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("peer: close: %w", err)
	}
	return nil
}

// ServeHTTP answers XML-RPC requests for the node, so that it can be
// mounted in a program's own HTTP server instead of calling Start.
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.http.ServeHTTP(w, r)
}

// enter registers a call with the node, so that Close waits for it; the
// caller must call n.calls.Done when it returns. The context it gives ends
// with ctx or when the node closes; cancel releases it.
func (n *Node) enter(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if err := n.register(); err != nil {
		return nil, nil, err
	}
	ctx, cancel := n.bind(ctx)
	if cancel == nil {
		cancel = func() {}
	}
	return ctx, cancel, nil
}

// register is enter without the context, for a call that may need none.
func (n *Node) register() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	n.calls.Add(1)
	return nil
}

// bind returns a context that ends with ctx or when the node closes, and
// the function that releases it. The function is nil when ctx is a call
// the node's own listener serves, which ends with the node already: the
// context of a relay through this node then costs nothing.
func (n *Node) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Value(servedKey{}) == n {
		return ctx, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(n.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// servedKey marks the contexts derived from Node.served.
type servedKey struct{}

// Query returns the contents of the file name: from Dir if it is there,
// otherwise from the first known peer that finds it. history lists the
// nodes the query has passed through; a local caller passes nil.
//
// A name that would leave Dir is ErrAccessDenied and is never passed on; a
// file found nowhere within the history limit is ErrUnhandled.
func (n *Node) Query(ctx context.Context, name string, history []string) ([]byte, error) {
	body, err := n.QueryReader(ctx, name, history)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("peer: query %q: %w", name, err)
	}
	return b, nil
}

// QueryReader is Query as a stream, for files too large to hold in memory.
// The caller must close the body. A body relayed from a peer ends early
// with an error if ctx ends or the node closes.
func (n *Node) QueryReader(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	return n.query(ctx, name, history, "")
}

// query serves a query that came with the identity id, or, for id "",
// one that starts here: a local caller's, or a book node's, which
// carries none.
func (n *Node) query(ctx context.Context, name string, history []string, id string) (io.ReadCloser, error) {
	if err := n.register(); err != nil {
		return nil, err
	}
	defer n.calls.Done()
	for _, h := range history {
		if !validURL(h) {
			return nil, fmt.Errorf("peer: query %q: history holds %q, which no peer could be sent", truncate(name), truncate(h))
		}
	}
	if id != "" {
		// A copy of a query handled here already is answered before
		// any work: that is what makes a flood cost one call a link.
		if !validName(name) {
			return nil, denied()
		}
		if !n.seen.handle(id, len(history)) {
			return nil, repeated()
		}
	}
	f, err := n.open(name)
	switch {
	case err == nil:
		// A file of Dir needs no context: the commonest query makes
		// none (two allocations and a registration with n.ctx).
		return f, nil
	case !errors.Is(err, ErrUnhandled):
		return nil, err
	}
	starts := false // here, with an empty history: ring.go
	if id == "" {
		// A book's query that a book node passed on for a query of
		// ours is that query again; any other gets its identity here.
		lent, ok := n.seen.adopt(name, history)
		if !ok {
			lent = newQueryID()
		}
		starts = !ok && len(history) == 0
		if !n.seen.handle(lent, len(history)) {
			return nil, unhandled() // in the book's words, to a book node
		}
		id = lent
	}
	ctx, release := n.bind(ctx)
	var body io.ReadCloser
	if starts {
		body, err = n.ringed(ctx, name, history, id)
	} else {
		body, err = n.passOn(ctx, name, history, id, time.Time{})
	}
	if release == nil {
		return body, err
	}
	if err != nil {
		release()
		return nil, err
	}
	// The body streams from a peer under ctx: keep ctx until it is closed.
	return relay(body, release), nil
}

// passOn is the query's second half, for a name not in Dir: add this node
// to the history and, within the limit, ask the known peers, until
// deadline (Config.QueryTimeout from now if it is zero).
func (n *Node) passOn(ctx context.Context, name string, history []string, id string, deadline time.Time) (io.ReadCloser, error) {
	history = append(slices.Clip(history), n.URL())
	if len(history) >= n.maxHistory {
		return nil, unhandled()
	}
	return n.broadcast(ctx, name, history, id, deadline, nil)
}

// open opens name in Dir: ErrUnhandled if no file of that name is there
// (nothing, or a directory, as the book's node has it), ErrAccessDenied
// for a name that would leave Dir or that names something other than a
// regular file or a directory (a device, a pipe).
func (n *Node) open(name string) (io.ReadCloser, error) {
	// Stat first: opening a named pipe would block.
	stamp, stamped, err := n.stat(name)
	if err != nil {
		return nil, err
	}
	if stamped {
		if body, ok := n.cache.get(name, stamp); ok {
			return body, nil
		}
	}
	f, err := n.root.Open(name)
	if err != nil {
		return nil, n.openError(name, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, denied()
	}
	return n.cache.fill(name, f, fi), nil
}

// stat checks name as open does, without opening it, and returns the
// file's stamp if the platform gives one (stamped).
func (n *Node) stat(name string) (stamp filestamp.Stamp, stamped bool, err error) {
	if !validName(name) {
		return stamp, false, denied()
	}
	fi, err := n.root.Stat(name)
	if err != nil {
		return stamp, false, n.openError(name, err)
	}
	switch {
	case fi.IsDir():
		// Not a file here, as the book's node sees it: the query goes
		// on, and a peer that asks is not refused what it may ask.
		return stamp, false, unhandled()
	case !fi.Mode().IsRegular():
		return stamp, false, denied()
	}
	stamp, stamped = filestamp.Of(fi)
	return stamp, stamped, nil
}

// openError sorts an error from opening name: a missing file is the
// query's to pass on, anything else (a link out of Dir, no permission, a
// loop) is denied.
func (n *Node) openError(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return unhandled()
	}
	n.log.Warn("access denied", "name", truncate(name), "err", err)
	return denied()
}

// Hello adds the node at url to the known peers. A node never adds its own
// URL. It fails for a URL the transport can never reach; with ErrPeerURL
// for an http or https URL that is not a bare peer address (a host and a
// port, the path empty, / or /RPC2, no userinfo, query or fragment, no
// unspecified, link-local, multicast or broadcast IP) or that
// Config.PeerPolicy refuses; with ErrLimited for a caller over
// Config.HelloRate; and when the node already knows as many peers as
// Config.MaxKnown allows. A hello that came over the network (from a
// peer, not the node's own program) adds the peer only once it has
// answered like a peer (see admit.go): so URLs nobody answers at, however
// many, never crowd out real peers.
func (n *Node) Hello(ctx context.Context, url string) error {
	if !n.hellos.allow(ctx) {
		return fmt.Errorf("peer: hello: %w", ErrLimited)
	}
	if !validURL(url) {
		return fmt.Errorf("peer: hello: invalid peer URL %q", truncate(url))
	}
	if err := checkPeerURL(url, n.policy); err != nil {
		return fmt.Errorf("peer: hello: %w", err)
	}
	if _, err := n.tr.Dial(url); err != nil {
		return fmt.Errorf("peer: hello: %w", err)
	}
	if fromNetwork(ctx) && !slices.Contains(n.peers(), url) && url != n.URL() {
		return n.admit(ctx, url)
	}
	return n.join(url)
}

// join adds url to the known peers: Hello's second half.
func (n *Node) join(url string) error {
	err := n.add(url)
	if err == nil {
		n.emit(PeerJoined, url, nil)
	} else if errors.Is(err, errKnown) {
		err = nil
	}
	return err
}

// errKnown is add's word for a URL known already, or the node's own.
var errKnown = errors.New("peer: known already")

// add puts url among the known peers, under n.mu.
func (n *Node) add(url string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	i, ok := slices.BinarySearch(n.known, url)
	switch {
	case n.closed:
		return ErrClosed
	case url == n.url:
		return errKnown
	case ok:
		// Said again: the peer may have been upgraded, or replaced.
		n.states.relearn(url)
		return errKnown
	case len(n.known) >= n.maxKnown:
		return fmt.Errorf("peer: hello: already %d known peers", len(n.known))
	}
	n.known = slices.Insert(slices.Clip(n.known), i, url)
	n.log.Debug("hello", "peer", url)
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Known returns the URLs of the known peers, sorted.
func (n *Node) Known() []string {
	p := n.peers()
	return append(make([]string, 0, len(p)), p...)
}

// peers is Known without the copy, for a broadcast to walk without holding
// the lock: Hello and Forget make a new slice rather than change this one.
// The caller must not modify it.
func (n *Node) peers() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.known
}

// Forget removes url from the known peers, if it is there.
func (n *Node) Forget(url string) { n.forgotten(url, nil) }

// forgotten forgets url and, if it was known, tells OnPeer why (err: the
// failure that made the node give up on it, or nil).
func (n *Node) forgotten(url string, err error) {
	if n.drop(url) {
		n.emit(PeerForgotten, url, err)
	}
}

// drop removes url from the known peers and reports whether it was there.
func (n *Node) drop(url string) bool {
	n.mu.Lock()
	i, ok := slices.BinarySearch(n.known, url)
	if ok {
		n.known = slices.Concat(n.known[:i], n.known[i+1:])
	}
	n.states.forget(url)
	n.mu.Unlock()
	n.vitals.forget(url)
	return ok
}

// List returns the names of the regular files in Dir, sorted, with
// subdirectories' files as slash-separated paths. Files being written by
// a fetch are not listed.
func (n *Node) List(ctx context.Context) ([]string, error) {
	ctx, cancel, err := n.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer n.calls.Done()
	defer cancel()
	var names []string
	err = n.walk(ctx, func(name string, _ fs.FileInfo) { names = append(names, name) })
	if err != nil {
		return nil, fmt.Errorf("peer: list: %w", err)
	}
	return names, nil
}

// walk calls fn, in name order, for each file that List lists, with what
// a stat of it says (through a symbolic link, for one that stays in Dir).
func (n *Node) walk(ctx context.Context, fn func(name string, fi fs.FileInfo)) error {
	return fs.WalkDir(n.root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		if !validName(name) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		var fi fs.FileInfo
		switch {
		case d.Type().IsRegular():
			fi, err = d.Info()
		case d.Type()&fs.ModeSymlink != 0:
			fi, err = n.root.Stat(name)
		default:
			return nil
		}
		if err == nil && fi.Mode().IsRegular() {
			fn(name, fi)
		}
		return nil
	})
}

// server is the node as its transport serves it to peers.
type server struct{ n *Node }

var _ transport.Contexter = server{}

// Context is the base of the contexts of the calls the transport serves:
// they end when the node closes.
func (s server) Context() context.Context { return s.n.served }

func (s server) Query(ctx context.Context, name string, history []string) (io.ReadCloser, error) {
	return s.n.QueryReader(ctx, name, history)
}

func (s server) Hello(ctx context.Context, url string) error { return s.n.Hello(ctx, url) }

func (s server) Fetch(ctx context.Context, name, secret string) error {
	return s.n.Fetch(ctx, name, secret)
}

func (s server) List(ctx context.Context) ([]string, error) { return s.n.List(ctx) }
