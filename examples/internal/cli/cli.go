// Package cli holds what the example programs share as command-line
// programs: the book's URL file, URLs typed by people, the flags' rules,
// what a failed call means in words, and the mapping of errors to exit
// codes.
package cli

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// ErrUsage reports bad arguments, once the usage has been printed.
var ErrUsage = errors.New("usage")

// ReadURLs reads the peer URLs listed in the file name, one a line,
// skipping blank lines and # comments. Each is read as PeerURL reads it; a
// line that holds anything else is named, by its number, in the error.
func ReadURLs(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("URL file: %w", err)
	}
	defer f.Close()
	var (
		urls []string
		bad  []error
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case len(strings.Fields(line)) > 1:
			bad = append(bad, fmt.Errorf("%s line %d: %d URLs on one line; write one URL a line", name, n, len(strings.Fields(line))))
		default:
			u, err := PeerURL(line)
			if err != nil {
				bad = append(bad, fmt.Errorf("%s line %d: %w", name, n, err))
				continue
			}
			urls = append(urls, u)
		}
		if len(bad) == maxBadLines {
			break // a file that is not a URL file at all: enough said
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("URL file %s: %w", name, err)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("URL file: %w", errors.Join(bad...))
	}
	return urls, nil
}

// maxBadLines is how many wrong lines of a URL file are reported.
const maxBadLines = 5

// PeerURL reads s as the URL of a node, taking one without a scheme, such
// as 127.0.0.1:4242 or localhost:4242, to be http://: without it Go's URL
// parser reads "localhost" as the scheme, or fails on the colon. Its error
// says what a URL looks like.
func PeerURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("no URL given; give one such as http://127.0.0.1:4242")
	}
	full := s
	if !strings.Contains(s, "://") {
		full = "http://" + s
	}
	u, err := url.Parse(full)
	if err != nil || u.Host == "" || strings.ContainsAny(s, " \t") {
		return "", fmt.Errorf("%q is not a node's URL; give one such as http://127.0.0.1:4242", s)
	}
	return full, nil
}

// ExitCode maps a program's error to its exit status, reporting the error
// on stderr under the program's name: 2 for bad usage, as flag does, 1 for
// any other failure.
func ExitCode(program string, err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	}
	fmt.Fprintf(stderr, "%s: %v\n", program, err)
	return 1
}

// Parse parses args into fs and checks that nargs arguments remain. On bad
// arguments it prints the usage and returns ErrUsage; for -h, flag.ErrHelp.
// A negative nargs takes any number.
func Parse(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return ErrUsage // flag has printed the error and the usage
	}
	if nargs >= 0 && fs.NArg() != nargs {
		fs.Usage()
		return ErrUsage
	}
	return nil
}

// Given reports which flags of fs were set on the command line, as
// opposed to left at their defaults.
func Given(fs *flag.FlagSet) map[string]bool {
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// Usagef prints a complaint about the arguments and then fs's usage, and
// returns ErrUsage.
func Usagef(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), fs.Name()+": "+format+"\n", args...)
	fs.Usage()
	return ErrUsage
}

// SecretEnv is the environment variable from which the programs take a
// node's secret, so that it stays out of the process's arguments, which
// every local user can read in /proc/PID/cmdline.
const SecretEnv = "FILEPEER_SECRET"

// Secret returns a node's secret from whichever one source was given: the
// file named by file (its first line), the environment variable SecretEnv
// as getenv reads it, or the book's command-line argument arg. It returns
// "" if none was given, and an error if more than one was, or if the file
// cannot be read or holds no secret.
func Secret(file, arg string, getenv func(string) string) (string, error) {
	env := getenv(SecretEnv)
	given := 0
	for _, s := range []string{file, env, arg} {
		if s != "" {
			given++
		}
	}
	switch {
	case given > 1:
		return "", fmt.Errorf("the secret was given more than one way (file, $%s, argument): give one", SecretEnv)
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("secret file: %w", err)
		}
		defer f.Close()
		line, err := bufio.NewReader(io.LimitReader(f, 4<<10)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("secret file %s: %w", file, err)
		}
		if line = strings.TrimRight(line, "\r\n"); line == "" {
			return "", fmt.Errorf("secret file %s: the first line is empty", file)
		}
		return line, nil
	case env != "":
		return env, nil
	}
	return arg, nil
}
