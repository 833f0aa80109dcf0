package peer

// SetRings sets the rings a query that starts at n reaches before the
// full depth, for tests that compare schedules; nil asks the full depth
// at once, as a node did before rings.
func SetRings(n *Node, hops []int) { n.rings = hops }
