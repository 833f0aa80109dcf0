package peer

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
)

// NewSecret returns a random secret for a front-end to give its own node:
// 26 characters carrying 128 bits from crypto/rand.
func NewSecret() string { return rand.Text() }

// secretMatches compares in constant time. Hashing first hides the length
// of the secret too. An empty configured secret matches nothing.
func secretMatches(want, got string) bool {
	if want == "" {
		return false
	}
	w, g := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(w[:], g[:]) == 1
}
