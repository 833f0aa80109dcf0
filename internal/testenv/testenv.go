// Package testenv finds what the module's tests need from outside Go, with
// one rule: a test whose tool is missing skips on a developer's machine but
// fails in CI (CI=true), where .ci/run installs it, so that no check is
// ever skipped where it counts.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
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

// WaitListening waits until something accepts TCP connections at addr,
// for at most within, and fails the test if nothing does.
func WaitListening(t testing.TB, addr string, within time.Duration) {
	t.Helper()
	if err := waitListening(addr, within); err != nil {
		t.Fatalf("nothing accepts connections at %s: %v", addr, err)
	}
}

// waitListening is WaitListening's loop, which returns the last dial's
// error if nothing accepted in time.
func waitListening(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
