package peer

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckPeerURL(t *testing.T) {
	for _, ok := range []string{
		"http://127.0.0.1:4242",
		"http://127.0.0.1:4242/",
		"http://127.0.0.1:4242/RPC2",
		"https://peer.example:443",
		"http://[::1]:4242",
		"http://node-7.lan:1",
		"mem://a", // another transport's: its to judge
		"quic://[fe80::1]:1",
	} {
		require.NoError(t, checkPeerURL(ok, nil), ok)
	}
	for _, bad := range []string{
		"http://user:hunter2@127.0.0.1:4242",
		"http://user@127.0.0.1:4242",
		"http://169.254.169.254/",
		"http://169.254.169.254:80/latest/meta-data",
		"http://169.254.169.254:80",
		"http://[fe80::1]:80",
		"http://[fe80::1%25eth0]:80",
		"http://[::ffff:169.254.169.254]:80",
		"http://0.0.0.0:4242",
		"http://[::]:4242",
		"http://224.0.0.1:4242",
		"http://[ff02::1]:4242",
		"http://255.255.255.255:4242",
		"http://127.0.0.1:4242/admin/delete?all=1",
		"http://127.0.0.1:4242/?a",
		"http://127.0.0.1:4242/?",
		"http://127.0.0.1:4242/#x",
		"http://127.0.0.1:4242#",
		"http://127.0.0.1:4242/RPC2/x",
		"http://127.0.0.1",
		"http://127.0.0.1:",
		"http://127.0.0.1:0",
		"http://127.0.0.1:65536",
		"http://:4242",
		"http:127.0.0.1:4242",
		"http://127.1:4242",
		"http://0x7f.1:4242",
		"http://2852039166:80",
		"http://a..b:1",
		"http://-a:1",
		"http://a_b%2e:1",
		"http://" + strings.Repeat("a", 64) + ".lan:1",
	} {
		err := checkPeerURL(bad, nil)
		require.ErrorIs(t, err, ErrPeerURL, bad)
		require.NotContains(t, err.Error(), "hunter2", "the message repeats the URL's password")
	}
}

func TestCheckPeerURLPolicy(t *testing.T) {
	lan := netip.MustParsePrefix("10.0.0.0/8")
	policy := func(u *url.URL) error {
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && lan.Contains(ip) {
			return nil
		}
		return errors.New("only 10.0.0.0/8")
	}
	require.NoError(t, checkPeerURL("http://10.1.2.3:4242", policy))
	err := checkPeerURL("http://127.0.0.1:4242", policy)
	require.ErrorIs(t, err, ErrPeerURL)
	require.ErrorContains(t, err, "only 10.0.0.0/8")
	// The policy is not asked about what the node refuses itself.
	require.ErrorContains(t, checkPeerURL("http://10.1.2.3:4242/x", policy), "path")
}

// FuzzCheckPeerURL checks that the URL check never panics and that what it
// lets through over http or https is a bare peer address.
func FuzzCheckPeerURL(f *testing.F) {
	for _, s := range []string{
		"http://127.0.0.1:4242", "https://a.b:1/RPC2", "http://u:p@h:1", "http://[fe80::1%25e]:1",
		"http://169.254.169.254:80", "http://h:1/?#", "HTTP://H:1", "http://[::ffff:0.0.0.0]:1", "mem://x",
		"http://h:1/%2e%2e", "http://h:01", "http://h:+1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if checkPeerURL(raw, nil) != nil {
			return
		}
		u, err := url.Parse(raw)
		require.NoError(t, err)
		if u.Scheme != "http" && u.Scheme != "https" {
			return
		}
		require.Nil(t, u.User)
		require.Empty(t, u.RawQuery)
		require.NotContains(t, raw, "#")
		require.Contains(t, []string{"", "/", "/RPC2"}, u.Path)
		p, err := strconv.Atoi(u.Port())
		require.NoError(t, err)
		require.True(t, p >= 1 && p <= 65535)
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			require.Empty(t, badPeerIP(ip))
		}
	})
}
