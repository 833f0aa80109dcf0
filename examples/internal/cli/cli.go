// Package cli holds what the example programs share as command-line
// programs: the book's URL file and the mapping of errors to exit codes.
package cli

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// ErrUsage reports bad arguments, once the usage has been printed.
var ErrUsage = errors.New("usage")

// ReadURLs reads the peer URLs listed in the file name, one a line,
// skipping blank lines and # comments.
func ReadURLs(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("URL file: %w", err)
	}
	defer f.Close()
	var urls []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			urls = append(urls, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("URL file %s: %w", name, err)
	}
	return urls, nil
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
