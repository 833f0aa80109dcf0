package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/examples/internal/hold"
	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport/xmlrpc"
)

// tmux runs tmux on a server of the test's own, which it ends when the
// test ends.
type tmux struct {
	t          *testing.T
	bin, sock  string
	lastScreen string
}

func newTmux(t *testing.T) *tmux {
	tm := &tmux{t: t, bin: testenv.Tool(t, "tmux"), sock: filepath.Join(t.TempDir(), "tmux.sock")}
	t.Cleanup(func() { exec.Command(tm.bin, "-S", tm.sock, "kill-server").Run() })
	return tm
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command(tm.bin, append([]string{"-S", tm.sock, "-f", os.DevNull}, args...)...).CombinedOutput()
	require.NoError(tm.t, err, "tmux %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// waitFor captures the pane until its screen holds every one of want, for
// 30 s at most, and returns that screen. Each screen that shows the bar
// between 26% and 99% is passed to moving, if not nil.
func (tm *tmux) waitFor(moving func(string), want ...string) string {
	tm.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		tm.lastScreen = tm.run("capture-pane", "-p", "-t", "client")
		if holdsAll(tm.lastScreen, want) {
			return tm.lastScreen
		}
		if moving != nil && barMoving.MatchString(tm.lastScreen) {
			moving(tm.lastScreen)
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the screen never showed %q; it shows:\n%s", want, tm.lastScreen)
		}
	}
}

var barMoving = regexp.MustCompile(`(2[6-9]|[3-9]\d)% \|`)

func holdsAll(s string, want []string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// TestBarInTmux runs the client in a real terminal, tmux's, and fetches a
// file from two holders that hold back all but its first two pieces of
// eight: the bar shows the quarter, the size and the holders, then the file comes and the
// bar gives way to the outcome.
func TestBarInTmux(t *testing.T) {
	tm := newTmux(t)
	bin := testenv.Build(t, ".")
	h := hold.New(2, 20*time.Millisecond) // two pieces of eight at once
	t.Cleanup(h.Open)                     // should the test end early
	x := xmlrpc.New(xmlrpc.Config{})
	defer x.Close()
	tr := h.Transport(x)
	big := strings.Repeat("filepeer", 8<<20/8)
	b := startPeer(t, tr, freeURL(t), map[string]string{"big.bin": big})
	c := startPeer(t, tr, freeURL(t), map[string]string{"big.bin": big})
	require.NoError(t, b.Hello(context.Background(), c.URL()))
	dir := t.TempDir()

	cmd := fmt.Sprintf("%s %s %s %s", bin, writeURLFile(t, b.URL()), dir, freeURL(t))
	tm.run("new-session", "-d", "-s", "client", "-x", "100", "-y", "12", cmd)
	tm.waitFor(nil, "is up.\n>") // the prompt; tmux drops its trailing space
	tm.run("send-keys", "-t", "client", "fetch big.bin", "Enter")
	held := tm.waitFor(nil, "fetching big.bin from 2 holders", " 25% ", "(2.0/8.0 MiB")
	t.Logf("held at a quarter:\n%s", held)
	require.Regexp(t, `fetching big\.bin from 2 holders +25% \|█{5} {15}\| \(2\.0/8\.0 MiB[,)]`, held, "a bar a quarter full, with the percent and the bytes")

	// Once open, the rest comes slowly: a screen on the way, if one is
	// caught, shows the rate and the time left (which are not checked:
	// they depend on the machine).
	h.Open()
	var onTheWay string
	done := tm.waitFor(func(s string) { onTheWay = s }, "Fetched big.bin: 8.0 MiB (8388608 bytes), checked against its SHA-256, from 2 holders.")
	t.Logf("on the way:\n%s\ndone:\n%s", onTheWay, done)
	require.NotContains(t, done, "fetching big.bin", "the bar cleared")
	got, err := os.ReadFile(filepath.Join(dir, "big.bin"))
	require.NoError(t, err)
	require.Equal(t, big, string(got))
	tm.run("send-keys", "-t", "client", "exit", "Enter")
}
