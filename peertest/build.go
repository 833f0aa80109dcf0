package peertest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// maxLinks bounds the links a builder makes, for the same reason as
// maxNodes.
const maxLinks = 1 << 24

// Line builds n0 - n1 - … - n(k-1). Directed: each node knows the next.
func Line(t testing.TB, k int, opts ...Option) *Network {
	t.Helper()
	names := indexNames(t, "Line", k, 1)
	var pairs []Link
	for i := 0; i+1 < k; i++ {
		pairs = append(pairs, Link{names[i], names[i+1]})
	}
	return build(t, "Line", names, pairs, opts)
}

// Ring builds a line of k ≥ 3 nodes whose last node is linked to the
// first. Directed: each node knows the next, and the last knows n0.
func Ring(t testing.TB, k int, opts ...Option) *Network {
	t.Helper()
	names := indexNames(t, "Ring", k, 3)
	pairs := make([]Link, k)
	for i := range k {
		pairs[i] = Link{names[i], names[(i+1)%k]}
	}
	return build(t, "Ring", names, pairs, opts)
}

// Star builds a hub n0 linked to k-1 leaves n1 … n(k-1). Directed: the
// hub knows the leaves.
func Star(t testing.TB, k int, opts ...Option) *Network {
	t.Helper()
	names := indexNames(t, "Star", k, 1)
	var pairs []Link
	for i := 1; i < k; i++ {
		pairs = append(pairs, Link{names[0], names[i]})
	}
	return build(t, "Star", names, pairs, opts)
}

// Mesh builds k nodes that all know each other. Directed changes nothing.
// Mind the nodes' MaxKnown (1024 unless set) on a large mesh.
func Mesh(t testing.TB, k int, opts ...Option) *Network {
	t.Helper()
	names := indexNames(t, "Mesh", k, 1)
	if k*(k-1)/2 > maxLinks {
		t.Fatalf("peertest: Mesh(%d): more than %d links", k, maxLinks)
	}
	var pairs []Link
	for i := range k {
		for j := i + 1; j < k; j++ {
			pairs = append(pairs, Link{names[i], names[j]})
		}
	}
	return build(t, "Mesh", names, pairs, append(opts[:len(opts):len(opts)], func(o *options) { o.directed = false }))
}

// Grid builds rows × cols nodes named r<row>c<col> (zero-padded, from 0),
// each linked to its right and lower neighbours. Directed: links point
// right and down.
func Grid(t testing.TB, rows, cols int, opts ...Option) *Network {
	t.Helper()
	if rows < 1 || cols < 1 || rows > maxNodes/cols {
		t.Fatalf("peertest: Grid(%d, %d): want rows, cols >= 1 and at most %d nodes", rows, cols, maxNodes)
	}
	rw, cw := len(strconv.Itoa(rows-1)), len(strconv.Itoa(cols-1))
	name := func(r, c int) string { return fmt.Sprintf("r%0*dc%0*d", rw, r, cw, c) }
	var names []string
	var pairs []Link
	for r := range rows {
		for c := range cols {
			names = append(names, name(r, c))
			if c+1 < cols {
				pairs = append(pairs, Link{name(r, c), name(r, c+1)})
			}
			if r+1 < rows {
				pairs = append(pairs, Link{name(r, c), name(r+1, c)})
			}
		}
	}
	return build(t, "Grid", names, pairs, opts)
}

// GridName returns the name Grid gives the node at row r, column c of a
// rows × cols grid.
func GridName(rows, cols, r, c int) string {
	return fmt.Sprintf("r%0*dc%0*d", len(strconv.Itoa(rows-1)), r, len(strconv.Itoa(cols-1)), c)
}

// Tree builds a complete tree in which each node has arity children, depth
// levels below the root. Nodes are numbered breadth first: the root is n0
// and the children of node i are i*arity+1 … i*arity+arity. Directed:
// parents know their children.
func Tree(t testing.TB, arity, depth int, opts ...Option) *Network {
	t.Helper()
	if arity < 1 || depth < 0 {
		t.Fatalf("peertest: Tree(%d, %d): want arity >= 1 and depth >= 0", arity, depth)
	}
	k, level := 1, 1
	for range depth {
		level *= arity
		k += level
		if k > maxNodes {
			t.Fatalf("peertest: Tree(%d, %d): more than %d nodes", arity, depth, maxNodes)
		}
	}
	names := indexNames(t, "Tree", k, 1)
	var pairs []Link
	for i := 1; i < k; i++ {
		pairs = append(pairs, Link{names[(i-1)/arity], names[i]})
	}
	return build(t, "Tree", names, pairs, opts)
}

// Edges builds the network a spec describes. The spec is a list of chains
// separated by spaces, commas or newlines. A chain is node names joined by
// links: "a-b" links a and b both ways, "a>b" makes a know b, "a<b" makes b
// know a. "a-b-c>d" is a-b, b-c and c>d; a lone name adds a node with no
// links. Names are letters, digits, '_' and '.'. Nodes are added in order
// of first appearance. Edges refuses the Directed option: say the
// direction with '>' and '<'.
//
//	peertest.Edges(t, "a-b b-c c-a")   // a ring of three
//	peertest.Edges(t, "hub>x hub>y z")  // hub knows x and y; z alone
func Edges(t testing.TB, spec string, opts ...Option) *Network {
	t.Helper()
	names, links, err := ParseEdges(spec)
	if err != nil {
		t.Fatal(err)
	}
	n := New(t, opts...)
	if n.opts.directed {
		t.Fatalf("peertest: Edges: the Directed option has no meaning here; write a>b for a one-way link")
	}
	n.Add(names...)
	if err := n.linkAll(links); err != nil {
		t.Fatal(err)
	}
	return n
}

// ParseEdges parses an Edges spec into its node names, in order of first
// appearance, and its directed links, in order, without duplicates.
func ParseEdges(spec string) ([]string, []Link, error) {
	var names []string
	var links []Link
	seenName := make(map[string]bool)
	seenLink := make(map[Link]bool)
	addName := func(s string) {
		if !seenName[s] {
			seenName[s] = true
			names = append(names, s)
		}
	}
	addLink := func(l Link) {
		if !seenLink[l] {
			seenLink[l] = true
			links = append(links, l)
		}
	}
	for chain := range strings.FieldsFuncSeq(spec, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		prev, op := "", rune(0)
		rest := chain
		for {
			i := strings.IndexAny(rest, "-<>")
			name := rest
			if i >= 0 {
				name = rest[:i]
			}
			if name == "" {
				return nil, nil, fmt.Errorf("peertest: edges: %q: a link needs a node name on each side", chain)
			}
			if problem := nameProblem(name); problem != "" {
				return nil, nil, fmt.Errorf("peertest: edges: %q: bad node name %q: %s", chain, name, problem)
			}
			addName(name)
			if prev != "" {
				if prev == name {
					return nil, nil, fmt.Errorf("peertest: edges: %q: %s links to itself", chain, name)
				}
				switch op {
				case '-':
					addLink(Link{prev, name})
					addLink(Link{name, prev})
				case '>':
					addLink(Link{prev, name})
				case '<':
					addLink(Link{name, prev})
				}
			}
			if i < 0 {
				break
			}
			prev, op, rest = name, rune(rest[i]), rest[i+1:]
		}
		if len(links) > maxLinks || len(names) > maxNodes {
			return nil, nil, fmt.Errorf("peertest: edges: more than %d links or %d nodes", maxLinks, maxNodes)
		}
	}
	return names, links, nil
}

// indexNames returns n0 … n(k-1), zero-padded so that name order is index
// order, as a node's peers are asked in URL order.
func indexNames(t testing.TB, builder string, k, least int) []string {
	t.Helper()
	if k < least || k > maxNodes {
		t.Fatalf("peertest: %s(%d): want %d to %d nodes", builder, k, least, maxNodes)
	}
	w := len(strconv.Itoa(k - 1))
	names := make([]string, k)
	for i := range names {
		names[i] = fmt.Sprintf("n%0*d", w, i)
	}
	return names
}

// build makes a network of the named nodes with each pair linked both
// ways, or from first to second if the options say Directed.
func build(t testing.TB, builder string, names []string, pairs []Link, opts []Option) *Network {
	t.Helper()
	if len(pairs) > maxLinks {
		t.Fatalf("peertest: %s: more than %d links", builder, maxLinks)
	}
	n := New(t, opts...)
	n.Add(names...)
	links := make([]Link, 0, 2*len(pairs))
	for _, p := range pairs {
		links = append(links, p)
		if !n.opts.directed {
			links = append(links, Link{p.To, p.From})
		}
	}
	if err := n.linkAll(links); err != nil {
		t.Fatal(err)
	}
	return n
}
