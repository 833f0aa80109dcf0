package testenv

import (
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

func TestToolFindsGo(t *testing.T) {
	if Tool(t, "go") == "" {
		t.Fatal("Tool returned no path for go")
	}
}
