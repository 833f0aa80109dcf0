package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadURLs(t *testing.T) {
	name := filepath.Join(t.TempDir(), "urls.txt")
	require.NoError(t, os.WriteFile(name, []byte("# peers\nhttp://a:1\n\n  http://b:2  \n#http://c:3\n"), 0o644))
	urls, err := ReadURLs(name)
	require.NoError(t, err)
	require.Equal(t, []string{"http://a:1", "http://b:2"}, urls)

	_, err = ReadURLs(filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "URL file")
}

func TestExitCode(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, 0, ExitCode("p", nil, &out))
	require.Equal(t, 0, ExitCode("p", flag.ErrHelp, &out))
	require.Equal(t, 2, ExitCode("p", fmt.Errorf("bad: %w", ErrUsage), &out))
	require.Empty(t, out.String())
	require.Equal(t, 1, ExitCode("p", errors.New("boom"), &out))
	require.Equal(t, "p: boom\n", out.String())
}

func TestParse(t *testing.T) {
	newFS := func(out *bytes.Buffer) *flag.FlagSet {
		fs := flag.NewFlagSet("p", flag.ContinueOnError)
		fs.SetOutput(out)
		fs.Bool("v", false, "verbose")
		fs.Usage = func() { fmt.Fprintln(fs.Output(), "usage: p [-v] A B") }
		return fs
	}
	var out bytes.Buffer
	require.NoError(t, Parse(newFS(&out), []string{"-v", "a", "b"}, 2))
	require.Empty(t, out.String())
	require.ErrorIs(t, Parse(newFS(&out), []string{"a"}, 2), ErrUsage)
	require.Contains(t, out.String(), "usage: p")
	require.ErrorIs(t, Parse(newFS(&out), []string{"-x", "a", "b"}, 2), ErrUsage)
	require.ErrorIs(t, Parse(newFS(&out), []string{"-h"}, 2), flag.ErrHelp)
	require.NoError(t, Parse(newFS(&out), []string{"a", "b", "c"}, -1))
}
