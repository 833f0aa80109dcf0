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
