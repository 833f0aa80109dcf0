package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/filepeer/peer/internal/testenv"
	"github.com/filepeer/peer/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// steps are lines the demo must print, in this order.
var steps = []string{
	"  D  ",
	"A → B → C → D",
	"    A asks B for hello.txt\n    B asks C for hello.txt\n    C asks D for hello.txt\n    D answers C: here it is\n",
	`A got "Hello from D!\n".`,
	"A now shares hello.txt.\n",
	"    D answers C: not found (fault 100)\n",
	"A says: fault 100: Couldn't handle the query.\n",
	"A queries ../etc/passwd, a name that leads out of its directory:\nA says: fault 200: Access denied, and asks nobody else.\n",
	"Closed every node and removed ",
}

func requireSteps(t *testing.T, out string) {
	t.Helper()
	rest := out
	for _, step := range steps {
		i := strings.Index(rest, step)
		require.GreaterOrEqual(t, i, 0, "missing, or out of order: %q\n%s", step, out)
		rest = rest[i+len(step):]
	}
}

// emptyTemp points the demo's temporary directory at a new one, and
// returns a check that the demo left nothing in it.
func emptyTemp(t *testing.T) func() {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	return func() {
		entries, err := os.ReadDir(tmp)
		require.NoError(t, err)
		require.Empty(t, entries, "the demo removes its files")
	}
}

func TestDemo(t *testing.T) {
	for name, tr := range map[string]transport.Transport{
		"xmlrpc": nil, // what go run ./examples/demo does
		"memory": transport.NewMemory(),
	} {
		t.Run(name, func(t *testing.T) {
			leftNothing := emptyTemp(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out bytes.Buffer
			require.NoError(t, run(ctx, &out, tr))
			requireSteps(t, out.String())
			leftNothing()
		})
	}
}

func TestBinary(t *testing.T) {
	bin := testenv.Build(t, ".")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	leftNothing := emptyTemp(t)
	out, err := exec.CommandContext(ctx, bin).Output()
	require.NoError(t, err, "exit status 0")
	requireSteps(t, string(out))
	leftNothing()

	out, err = exec.CommandContext(ctx, bin, "extra").CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit))
	require.Equal(t, 2, exit.ExitCode())
	require.Contains(t, string(out), "usage: demo")
}
