// Package testenv finds what the module's tests need from outside Go, with
// one rule: a test whose tool is missing skips on a developer's machine but
// fails in CI (CI=true), where .ci/run installs it, so that no check is
// ever skipped where it counts.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Tool returns the path of the program name, skipping the test if it is
// not installed, or failing it under CI.
func Tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	switch {
	case err == nil:
		return path
	case os.Getenv("CI") == "true":
		t.Fatalf("%s not found: CI must have it (.ci/run installs it)", name)
	default:
		t.Skipf("%s not found", name)
	}
	return ""
}

// Build builds the main package pkg (a path as go build takes it) into the
// test's temporary directory and returns the binary. It skips in -short
// mode, where building a program is too slow.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a program; not in -short")
	}
	abs, err := filepath.Abs(pkg)
	if err != nil {
		t.Fatalf("go build %s: %v", pkg, err)
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(abs))
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}
