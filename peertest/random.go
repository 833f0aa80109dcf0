package peertest

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// RandomRegular builds a random graph of k nodes n0 … n(k-1) in which every
// node is linked to exactly d others, drawn from the network's seed.
// Undirected, k*d must be even. Directed: every node knows d others, chosen
// at random.
func RandomRegular(t testing.TB, k, d int, opts ...Option) *Network {
	t.Helper()
	names := indexNames(t, "RandomRegular", k, 1)
	n := New(t, opts...)
	if d < 0 || d >= k || (!n.opts.directed && k*d%2 != 0) || k*d > maxLinks {
		t.Fatalf("peertest: RandomRegular(%d, %d): want 0 <= d < k, k*d even (unless Directed) and at most %d links", k, d, maxLinks)
	}
	r := n.rand(0)
	var pairs [][2]int
	if n.opts.directed {
		pairs = randomOut(r, k, d)
	} else {
		var err error
		if pairs, err = randomRegular(r, k, d); err != nil {
			t.Fatalf("peertest: RandomRegular(%d, %d): %v (seed %d)", k, d, err, n.opts.seed)
		}
	}
	return n.populate(names, pairs)
}

// RandomGNP builds an Erdős–Rényi graph G(k, p) of nodes n0 … n(k-1): each
// pair of nodes is linked with probability p, drawn from the network's
// seed. Directed: each ordered pair is a one-way link with probability p.
func RandomGNP(t testing.TB, k int, p float64, opts ...Option) *Network {
	t.Helper()
	names := indexNames(t, "RandomGNP", k, 1)
	n := New(t, opts...)
	if !(p >= 0 && p <= 1) {
		t.Fatalf("peertest: RandomGNP(%d, %v): want 0 <= p <= 1", k, p)
	}
	slots := k * (k - 1)
	if !n.opts.directed {
		slots /= 2
	}
	if p*float64(slots) > maxLinks {
		t.Fatalf("peertest: RandomGNP(%d, %v): about %.0f links, more than %d", k, p, p*float64(slots), maxLinks)
	}
	var pairs [][2]int
	for s := range geometricSlots(n.rand(0), slots, p) {
		if n.opts.directed {
			i, j := s/(k-1), s%(k-1)
			if j >= i {
				j++
			}
			pairs = append(pairs, [2]int{i, j})
		} else {
			pairs = append(pairs, triangular(s))
		}
	}
	return n.populate(names, pairs)
}

// populate adds the nodes and links each pair, both ways unless Directed.
func (n *Network) populate(names []string, pairs [][2]int) *Network {
	n.tb.Helper()
	n.Add(names...)
	links := make([]Link, 0, 2*len(pairs))
	for _, p := range pairs {
		links = append(links, Link{names[p[0]], names[p[1]]})
		if !n.opts.directed {
			links = append(links, Link{names[p[1]], names[p[0]]})
		}
	}
	if err := n.linkAll(links); err != nil {
		n.tb.Fatal(err)
	}
	return n
}

// geometricSlots yields each of slots slots with probability p, in order,
// skipping ahead by geometrically distributed gaps so that a sparse graph
// costs its links, not its pairs (Batagelj and Brandes, 2005).
func geometricSlots(r *rand.Rand, slots int, p float64) func(func(int) bool) {
	return func(yield func(int) bool) {
		switch {
		case p <= 0 || slots <= 0:
			return
		case p >= 1:
			for s := range slots {
				if !yield(s) {
					return
				}
			}
			return
		}
		logq := math.Log1p(-p)
		for s := -1; ; {
			gap := math.Floor(math.Log1p(-r.Float64()) / logq)
			if gap >= float64(slots-s) {
				return
			}
			s += 1 + int(gap)
			if s >= slots || !yield(s) {
				return
			}
		}
	}
}

// triangular maps slot s to the s-th pair (i, j) with j < i, in the order
// (1,0), (2,0), (2,1), (3,0)…
func triangular(s int) [2]int {
	i := int((1 + math.Sqrt(1+8*float64(s))) / 2)
	for i*(i-1)/2 > s {
		i--
	}
	for (i+1)*i/2 <= s {
		i++
	}
	return [2]int{i, s - i*(i-1)/2}
}

// randomOut gives each of k nodes d distinct random peers other than
// itself, by Floyd's sampling, so that it costs O(k*d) whatever d is.
func randomOut(r *rand.Rand, k, d int) [][2]int {
	pairs := make([][2]int, 0, k*d)
	for i := range k {
		chosen := make(map[int]bool, d)
		// Sample d of the k-1 others, numbered 0 … k-2 with i skipped.
		for j := k - 1 - d; j < k-1; j++ {
			v := r.IntN(j + 1)
			if chosen[v] {
				v = j
			}
			chosen[v] = true
		}
		// Sorted, so that the links do not depend on map order.
		for _, v := range slices.Sorted(maps.Keys(chosen)) {
			if v >= i {
				v++
			}
			pairs = append(pairs, [2]int{i, v})
		}
	}
	return pairs
}

// randomRegular draws a simple d-regular graph on k nodes: a random
// pairing of the nodes' d stubs each, then double-edge swaps that mend the
// loops and repeated pairs the pairing made, keeping every degree.
func randomRegular(r *rand.Rand, k, d int) ([][2]int, error) {
	stubs := make([]int, 0, k*d)
	for i := range k {
		for range d {
			stubs = append(stubs, i)
		}
	}
	r.Shuffle(len(stubs), func(i, j int) { stubs[i], stubs[j] = stubs[j], stubs[i] })
	edges := make([][2]int, len(stubs)/2)
	count := make(map[[2]int]int, len(edges))
	key := func(a, b int) [2]int {
		if a > b {
			a, b = b, a
		}
		return [2]int{a, b}
	}
	for i := range edges {
		edges[i] = [2]int{stubs[2*i], stubs[2*i+1]}
		count[key(edges[i][0], edges[i][1])]++
	}
	bad := func(e [2]int) bool { return e[0] == e[1] || count[key(e[0], e[1])] > 1 }
	budget := 1000 + 100*len(edges)
	for i := range edges {
		for bad(edges[i]) {
			if budget--; budget < 0 {
				return nil, fmt.Errorf("could not mend the random pairing into a simple graph")
			}
			j := r.IntN(len(edges))
			a, b := edges[i][0], edges[i][1]
			c, e := edges[j][0], edges[j][1]
			if r.IntN(2) == 0 {
				c, e = e, c
			}
			// Swap (a,b),(c,e) for (a,c),(b,e) if both are new and no loop.
			if j == i || a == c || b == e || count[key(a, c)] > 0 || count[key(b, e)] > 0 || (key(a, c) == key(b, e)) {
				continue
			}
			count[key(a, b)]--
			count[key(edges[j][0], edges[j][1])]--
			edges[i], edges[j] = [2]int{a, c}, [2]int{b, e}
			count[key(a, c)]++
			count[key(b, e)]++
		}
	}
	return edges, nil
}
