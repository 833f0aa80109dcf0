package libp2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// maxKeyFile caps the size of a key file read: an Ed25519 key is 68
// bytes, an RSA-4096 one about 2.4 KB.
const maxKeyFile = 16 << 10

// LoadOrCreateKey returns the private key in the file at path, or, if
// there is no such file, makes an Ed25519 key and saves it there (mode
// 0600, written to a temporary file and renamed, so that a crash leaves no
// half-written key). The file holds the key in libp2p's protobuf encoding.
// A file that is not such a key is an error, never replaced.
func LoadOrCreateKey(path string) (crypto.PrivKey, error) {
	if path == "" {
		return nil, errors.New("libp2p: key file: empty path")
	}
	k, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	k, _, err = crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("libp2p: make key: %w", err)
	}
	b, err := crypto.MarshalPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("libp2p: encode key: %w", err)
	}
	if err := writeNew(path, b); errors.Is(err, fs.ErrExist) {
		// Another process made it first: its key is the node's.
		return loadKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("libp2p: key file: %w", err)
	}
	return k, nil
}

// loadKey reads the key at path; an error wraps fs.ErrNotExist if there
// is no file.
func loadKey(path string) (crypto.PrivKey, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("libp2p: key file: %w", err)
	}
	k, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("libp2p: key file %s: not a libp2p private key: %w", path, err)
	}
	return k, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > maxKeyFile {
		return nil, fmt.Errorf("%s has %d bytes, more than a key's %d", path, fi.Size(), maxKeyFile)
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil && fi.Size() > 0 {
		return nil, err
	}
	return b, nil
}

// writeNew writes b to path through a temporary file in its directory,
// and refuses to replace a file that appeared meanwhile.
func writeNew(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// Link, not rename: it fails if another process saved a key first,
	// whose id would otherwise be lost.
	if err := os.Link(name, path); err != nil {
		return err
	}
	return nil
}
