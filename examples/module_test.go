// Package examples holds no code of its own: its test checks that the
// library's module leaves the examples' dependencies to this one.
package examples

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestLibraryModule: a program that imports the library gets none of the
// modules only the example programs use (a browser driver, a line editor,
// a progress bar).
func TestLibraryModule(t *testing.T) {
	cmd := exec.Command("go", "mod", "graph")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod graph of the library: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		for _, m := range strings.Fields(line) {
			for _, banned := range []string{"github.com/chromedp/", "github.com/chzyer/", "github.com/schollz/"} {
				if strings.HasPrefix(m, banned) {
					t.Errorf("the library's go.mod brings in %s (%s)", m, line)
				}
			}
		}
	}
}
