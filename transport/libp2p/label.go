package libp2p

import (
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
)

// A peer id travels to the http.Transport's dialer as the host of the
// request's URL: its bytes in lower-case base32, in labels of at most 60
// characters. Base58, the id's usual text, is case-sensitive, which a host
// name is not.

var label32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// labelSuffix ends every such host name, so that it can never be a real
// one.
const labelSuffix = ".p2p"

func hostLabel(id peer.ID) string {
	s := strings.ToLower(label32.EncodeToString([]byte(id)))
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('.')
		s = s[60:]
	}
	b.WriteString(s)
	b.WriteString(labelSuffix)
	return b.String()
}

func parseHostLabel(h string) (peer.ID, error) {
	s, ok := strings.CutSuffix(h, labelSuffix)
	if !ok {
		return "", fmt.Errorf("libp2p: %q names no peer", h)
	}
	raw, err := label32.DecodeString(strings.ToUpper(strings.ReplaceAll(s, ".", "")))
	if err != nil {
		return "", fmt.Errorf("libp2p: %q names no peer: %w", h, err)
	}
	id, err := peer.IDFromBytes(raw)
	if err != nil {
		return "", fmt.Errorf("libp2p: %q names no peer: %w", h, err)
	}
	return id, nil
}
