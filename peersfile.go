package peer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Config.PeersFile holds a header line and then one known peer's URL a
// line. It is written whole to a temporary file in the same directory,
// synced, and renamed over the old one, so that a crash leaves the old
// list or the new one, never half of one.
const peersHeader = "# filepeer known peers, one URL a line"

// readPeers reads a peers file: a missing file is fs.ErrNotExist; a
// file that is too big for maxKnown peers, lacks the header or holds a
// line that is not a URL is an error naming what is wrong.
func readPeers(path string, maxKnown int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	limit := int64(len(peersHeader)+2) + int64(maxKnown)*(maxURLLen+2)
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes, too big for %d peers", limit, maxKnown)
	}
	lines := bufio.NewScanner(bytes.NewReader(b))
	lines.Buffer(make([]byte, 0, 4096), maxURLLen+len(peersHeader)+2)
	var urls []string
	for i := 1; lines.Scan(); i++ {
		line := strings.TrimSuffix(lines.Text(), "\r")
		switch {
		case i == 1:
			if line != peersHeader {
				return nil, errors.New("line 1 is not the header a peers file begins with")
			}
		case line == "":
		case !validURL(line):
			return nil, fmt.Errorf("line %d is not a URL", i)
		case len(urls) == maxKnown:
			return nil, fmt.Errorf("more than %d peers", maxKnown)
		default:
			urls = append(urls, line)
		}
	}
	if err := lines.Err(); err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	return urls, nil
}

// writePeers writes urls to path atomically.
func writePeers(path string, urls []string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriter(tmp)
	w.WriteString(peersHeader + "\n")
	for _, u := range urls {
		w.WriteString(u + "\n")
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// loadPeers says hello, for the node's program, to every peer of
// PeersFile. A file missing or corrupt is a warning, and no peers.
func (n *Node) loadPeers() {
	if n.peersFile == "" {
		return
	}
	urls, err := readPeers(n.peersFile, n.maxKnown)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		n.log.Warn("no peers file yet: starting with no peers", "file", n.peersFile)
		return
	case err != nil:
		n.log.Warn("ignoring corrupt peers file: starting with no peers", "file", n.peersFile, "err", err)
		return
	}
	for _, u := range urls {
		if err := n.Hello(context.Background(), u); err != nil {
			n.log.Warn("peer from the peers file refused", "peer", truncate(u), "err", err)
		}
	}
	n.log.Info("peers from the peers file", "file", n.peersFile, "peers", len(urls))
	n.saveMu.Lock()
	n.saved = n.peers()
	n.saveMu.Unlock()
}

// savePeers writes the known peers to PeersFile if they changed since it
// was last written. A failure is logged; the next save tries again.
func (n *Node) savePeers() {
	if n.peersFile == "" {
		return
	}
	known := n.peers()
	n.saveMu.Lock()
	defer n.saveMu.Unlock()
	if n.saved != nil && slices.Equal(known, n.saved) {
		return
	}
	if err := writePeers(n.peersFile, known); err != nil {
		n.log.Warn("could not write the peers file", "file", n.peersFile, "err", fmt.Errorf("peer: %w", err))
		return
	}
	n.saved = append(make([]string, 0, len(known)), known...)
}
