package peer

import (
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// tmpPrefix starts the names of files being written by fetch. Such names are
// never served, listed or accepted from a peer, and leftovers are swept by
// Start.
const tmpPrefix = ".filepeer-tmp-"

// partPrefix starts the names of the partial files of interrupted fetches
// (partial.go), which Start keeps so that a later fetch resumes. Like
// temporary files, they are never served, listed or accepted as names.
const partPrefix = ".filepeer-part-"

// maxNameLen caps a name's length in bytes, well below any file system's
// limit, so an oversized name is refused before it reaches the disk.
const maxNameLen = 1024

// validName reports whether name is acceptable as a file name in the shared
// directory: a clean, relative, slash-separated path of valid UTF-8 with no
// empty, "." or ".." element, no backslash, no control character nor
// anything else the XML-RPC wire cannot carry (see wireSafe), and no
// element that is a temporary or partial file of ours. It is a lexical
// check: symbolic links are caught when the name is opened through the
// node's os.Root.
func validName(name string) bool {
	if name == "" || len(name) > maxNameLen || !utf8.ValidString(name) {
		return false
	}
	if path.Clean(name) != name || !filepath.IsLocal(name) || path.IsAbs(name) {
		return false
	}
	for _, r := range name {
		if r == '\\' || !wireSafe(r) {
			return false
		}
	}
	for elem := range strings.SplitSeq(name, "/") {
		if elem == "." || elem == ".." || strings.HasPrefix(elem, tmpPrefix) || strings.HasPrefix(elem, partPrefix) {
			return false
		}
	}
	return true
}

// inside reports whether name, taken relative to dir, stays inside dir: the
// book's check, made lexically strict. Every read and write also goes
// through an os.Root opened at dir, so a symbolic link cannot lead out
// either.
func inside(dir, name string) bool {
	if !validName(name) {
		return false
	}
	rel, err := filepath.Rel(dir, filepath.Join(dir, filepath.FromSlash(name)))
	return err == nil && filepath.IsLocal(rel)
}

// wireSafe reports whether r may appear in a name or URL: printable, and
// a character XML 1.0 can carry, so that every peer can be asked for it.
// A name a peer cannot be sent would otherwise look like that peer's fault.
func wireSafe(r rune) bool {
	return r >= 0x20 && r != 0x7f && r != 0xfffe && r != 0xffff && !(r >= 0xd800 && r <= 0xdfff)
}

// validURL reports whether s is acceptable as a peer URL: not empty, not
// over maxURLLen, and made of printable, wire-safe characters with no
// spaces.
func validURL(s string) bool {
	if s == "" || len(s) > maxURLLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == ' ' || !wireSafe(r) {
			return false
		}
	}
	return true
}
