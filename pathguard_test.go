package peer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for _, name := range []string{"a", "a.txt", "sub/a.txt", "a b.txt", "ünï.txt", ".hidden", "a..b", "...", "x/.y"} {
		if !validName(name) {
			t.Errorf("validName(%q) = false, want true", name)
		}
	}
	for _, name := range []string{
		"", ".", "..", "../a", "a/../b", "a/..", "/a", "a/", "a//b", "./a", "a/./b",
		"a\\b", "a\x00b", "a\nb", "a\x7fb", "\xff", "odd\uffff", "odd\ufffe", "\xed\xa0\x80", ".filepeer-tmp-1", "d/.filepeer-tmp-1",
		strings.Repeat("a", maxNameLen+1),
	} {
		if validName(name) {
			t.Errorf("validName(%q) = true, want false", name)
		}
	}
}

// FuzzInside checks the guard against the file system: whatever inside
// accepts, opened through an os.Root with O_CREATE, lands inside the
// directory, and nothing appears beside it.
func FuzzInside(f *testing.F) {
	for _, seed := range []string{"a", "sub/a", "../a", "/etc/passwd", "a/../../b", "link/x", "x\x00", "..\\a", "", ".", "a/./b"} {
		f.Add(seed)
	}
	parent := f.TempDir()
	dir := filepath.Join(parent, "shared")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink(parent, filepath.Join(dir, "link")); err != nil {
		f.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		f.Fatal(err)
	}
	defer root.Close()

	f.Fuzz(func(t *testing.T, name string) {
		if !inside(dir, name) {
			return
		}
		joined := filepath.Join(dir, filepath.FromSlash(name))
		if rel, err := filepath.Rel(dir, joined); err != nil || !filepath.IsLocal(rel) {
			t.Fatalf("inside accepted %q, which joins to %q", name, joined)
		}
		file, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			file.Close()
			if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("remove %q: %v", name, err)
			}
		}
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("creating %q left %d entries beside the shared directory", name, len(entries)-1)
		}
	})
}
