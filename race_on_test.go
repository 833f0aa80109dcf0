//go:build race

package peer_test

// raceEnabled: the race detector multiplies a process's memory, so peak
// RSS bounds are only asserted without it.
const raceEnabled = true
