package peer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Fetch finds name, in Dir or on the network, and stores it in Dir. secret
// must be the node's Config.Secret: a wrong one is ErrAccessDenied, as is a
// name that would leave Dir. A file not found within the history limit is
// ErrUnhandled. A file already in Dir is left as it is. Contents whose
// holders announced a hash are checked against it (ErrHashMismatch), and
// fetched from several holders at once; Download tells what a fetch did.
// A name "sha256:<hex>" asks for contents by their hash (see Download).
//
// The file is written under a temporary name, synced, then linked into
// place, so that Dir never holds a partial file and nothing already there
// is overwritten, even by a concurrent fetch of the same name.
func (n *Node) Fetch(ctx context.Context, name, secret string) error {
	_, err := n.Download(ctx, name, secret)
	return err
}

// store writes body to Dir/name without clobbering: see Fetch. If want
// is not "", the contents must have that hash, and size bytes (no more is read),
// or nothing is placed (ErrHashMismatch).
func (n *Node) store(ctx context.Context, name string, body io.Reader, meter *fetchMeter, want string, size int64) (err error) {
	tmp, f, err := n.createTemp()
	if err != nil {
		return err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
		if rmErr := n.root.Remove(tmp); err == nil && rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = rmErr
		}
	}()
	var w io.Writer = &boundedWriter{f: f, b: n.bounds, m: meter}
	if n.progress != nil || n.fetchProg != nil {
		w = &progressWriter{w: w, name: name, old: n.progress, report: n.fetchProg}
	}
	var sum hash.Hash
	if want != "" {
		sum = sha256.New()
		w = io.MultiWriter(w, sum)
		body = io.LimitReader(body, size+1)
	}
	got, err := io.Copy(w, ctxReader{ctx, body})
	if err != nil {
		return err
	}
	if sum != nil {
		if got != size || hex.EncodeToString(sum.Sum(nil)) != want {
			return fmt.Errorf("%w: the file that came by query is not those contents", ErrHashMismatch)
		}
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	err, f = f.Close(), nil
	if err != nil {
		return err
	}
	return n.place(tmp, name)
}

// place gives the finished temporary file its name, unless a file of that
// name appeared meanwhile: a regular one is kept and counts as fetched.
// The directories of a name in a subdirectory are made if missing (a
// holder's "music/song.ogg" goes to music/ here), inside Dir as every
// write is.
func (n *Node) place(tmp, name string) error {
	err := n.root.Link(tmp, name)
	if dir := path.Dir(name); errors.Is(err, fs.ErrNotExist) && dir != "." {
		if err = n.root.MkdirAll(dir, 0o755); err == nil {
			err = n.root.Link(tmp, name)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		if fi, statErr := n.root.Lstat(name); statErr == nil && fi.Mode().IsRegular() {
			return nil
		}
		return fmt.Errorf("%q is in the way and is not a regular file", name)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// The file system has no hard links: fall back to a rename, which
		// is safe from clobbering only if nobody else writes name now.
		if _, statErr := n.root.Lstat(name); errors.Is(statErr, fs.ErrNotExist) {
			err = n.root.Rename(tmp, name)
		}
	}
	return err
}

func (n *Node) createTemp() (string, *os.File, error) {
	for range 10 {
		var b [8]byte
		rand.Read(b[:])
		name := tmpPrefix + hex.EncodeToString(b[:])
		f, err := n.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return name, f, err
	}
	return "", nil, errors.New("no free temporary name")
}

// sweep removes the temporary files an interrupted fetch left in Dir.
func (n *Node) sweep() {
	d, err := n.root.Open(".")
	if err != nil {
		return
	}
	defer d.Close()
	entries, _ := d.ReadDir(-1)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) && e.Type().IsRegular() {
			if err := n.root.Remove(e.Name()); err == nil {
				n.log.Info("removed leftover temporary file", "name", e.Name())
			}
		}
	}
}

// ctxReader stops a copy when ctx ends, whatever the reader does.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// progressWriter reports the bytes written through it, of a file whose
// size is not known, to either progress function that is not nil.
type progressWriter struct {
	w       io.Writer
	name    string
	written int64
	old     func(name string, written int64)
	report  func(FetchProgress)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.written += int64(n)
	if p.old != nil {
		p.old(p.name, p.written)
	}
	if p.report != nil {
		p.report(FetchProgress{Name: p.name, Bytes: p.written, Size: -1, Holders: 1})
	}
	return n, err
}
