package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestBuild(t *testing.T) {
	bin := Build(t, "../../examples/demo")
	out, err := exec.Command(bin, "stray-argument").CombinedOutput()
	if err == nil {
		t.Fatalf("demo with a stray argument exited 0; want the usage and exit 2:\n%s", out)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("demo stray-argument: %v, want exit status 2", err)
	}
}

// A package given as "." is named after its folder, not the temp dir.
func TestBuildDot(t *testing.T) {
	t.Chdir("../../examples/demo")
	bin := Build(t, ".")
	if filepath.Base(bin) != "demo" {
		t.Fatalf("Build(\".\") = %s, want a binary named demo", bin)
	}
	if fi, err := os.Stat(bin); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("no program at %s: %v", bin, err)
	}
}

// recorder is a testing.TB that notes Fatalf and Skipf instead of
// stopping, so that Tool's choice between them can be checked.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

func TestTool(t *testing.T) {
	const missing = "no-such-tool-filepeer"
	for _, tc := range []struct {
		ci                  string
		wantFatal, wantSkip bool
	}{
		{"true", true, false},
		{"", false, true},
		{"false", false, true},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			Tool(r, missing)
			if (r.fatal != "") != tc.wantFatal || (r.skip != "") != tc.wantSkip {
				t.Fatalf("missing tool with CI=%q: fatal %q, skip %q", tc.ci, r.fatal, r.skip)
			}
		})
	}
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	if path := Tool(r, "go"); path == "" || r.fatal != "" || r.skip != "" {
		t.Fatalf("Tool(go) = %q, fatal %q, skip %q", path, r.fatal, r.skip)
	}
}

// FreeAddr never hands out one port twice, and each is free to listen on.
func TestFreeAddr(t *testing.T) {
	seen := make(map[string]bool)
	for range 200 {
		addr := FreeAddr(t)
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
	}
	l, err := net.Listen("tcp", FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}
