package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/chzyer/readline"
	"github.com/schollz/progressbar/v3"

	"github.com/filepeer/peer"
)

const prompt = "> "

// lineReader gives the command lines, prompting for each.
type lineReader interface {
	ReadLine() (string, error) // io.EOF at the end of input
	Close() error
}

// lineReader returns a line editor on a terminal and, otherwise, where a
// pipe may be feeding the commands, a plain reader that prints no prompts.
func (c *client) lineReader(e env) (lineReader, error) {
	if !e.terminal {
		return &plainReader{sc: bufio.NewScanner(e.stdin)}, nil
	}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          prompt,
		AutoComplete:    c.completer(),
		InterruptPrompt: "^C",
		EOFPrompt:       "exit",
		Stdout:          e.stdout,
		Stderr:          e.stderr,
	})
	if err != nil {
		return nil, err
	}
	return termReader{rl}, nil
}

// completer completes command names, local file names after query and
// known peers after hello.
func (c *client) completer() readline.AutoCompleter {
	local := func(string) []string {
		names, _ := c.node.List(context.Background())
		return names
	}
	known := func(string) []string { return c.node.Known() }
	return readline.NewPrefixCompleter(
		readline.PcItem("search"),
		readline.PcItem("fetch"),
		readline.PcItem("query", readline.PcItemDynamic(local)),
		readline.PcItem("list"),
		readline.PcItem("known"),
		readline.PcItem("hello", readline.PcItemDynamic(known)),
		readline.PcItem("help"),
		readline.PcItem("exit"),
	)
}

type plainReader struct{ sc *bufio.Scanner }

func (p *plainReader) ReadLine() (string, error) {
	if p.sc.Scan() {
		return p.sc.Text(), nil
	}
	if err := p.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

func (p *plainReader) Close() error { return nil }

type termReader struct{ rl *readline.Instance }

// ReadLine treats Ctrl-C as "clear the line", or as exit on an empty line.
func (t termReader) ReadLine() (string, error) {
	for {
		line, err := t.rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			if line == "" {
				return "", io.EOF
			}
			continue
		}
		return line, err
	}
}

func (t termReader) Close() error { return t.rl.Close() }

// readLine reads a line from in unless ctx ends or Ctrl-C comes first: a
// signal must not wait for the next line of input. (On a terminal, the
// line editor reads Ctrl-C itself, as a key.) Ctrl-C ends the input. The
// read left behind ends when the input is closed or ends.
func (c *client) readLine(ctx context.Context, in lineReader) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := in.ReadLine()
		ch <- result{line, err}
	}()
	select {
	case r := <-ch:
		return r.line, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	case <-c.interrupt:
		return "", io.EOF
	}
}

// spinnerDelay is how long a command runs before it shows a spinner.
const spinnerDelay = 300 * time.Millisecond

// withProgress runs fn and, on a terminal, shows a bar with the bytes
// counted by n so far, their rate and the time elapsed, once fn has run for
// spinnerDelay. The bar spins rather than fills: search and query know no
// size beforehand. (A fetch has a bar of its own: withFetchBar.)
func (c *client) withProgress(desc string, n *countWriter, fn func() error) error {
	var bar *progressbar.ProgressBar
	defer func() {
		if bar != nil {
			bar.Finish()
		}
	}()
	return c.whileRunning(fn, func() {
		if bar == nil {
			bar = progressbar.NewOptions64(-1,
				progressbar.OptionSetWriter(c.out),
				progressbar.OptionSetDescription(desc),
				progressbar.OptionSpinnerType(14),
				progressbar.OptionSetElapsedTime(true),
				progressbar.OptionShowBytes(n != nil),
				progressbar.OptionClearOnFinish(),
			)
			bar.RenderBlank()
		}
		if n != nil {
			bar.Set64(n.n.Load())
		}
	})
}

// whileRunning runs fn and returns what it returns; on a terminal, once
// fn has run for spinnerDelay, it calls show, and again every tenth of a
// second until fn returns. Commands that end at once show nothing.
func (c *client) whileRunning(fn func() error, show func()) error {
	if !c.terminal {
		return fn()
	}
	done := make(chan error, 1)
	go func() { done <- fn() }()
	delay := time.NewTimer(spinnerDelay)
	defer delay.Stop()
	select {
	case err := <-done:
		return err
	case <-delay.C:
	}
	show()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			show()
		}
	}
}

// countWriter counts the bytes written to it; safe for concurrent use.
type countWriter struct{ n atomic.Int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// fetchWatch keeps the last progress the node reported for the running
// fetch (Config.FetchProgress); safe for concurrent use.
type fetchWatch struct {
	last atomic.Pointer[peer.FetchProgress]
}

// report is a peer.Config.FetchProgress.
func (w *fetchWatch) report(p peer.FetchProgress) { w.last.Store(&p) }

// reset forgets the previous fetch's progress.
func (w *fetchWatch) reset() { w.last.Store(nil) }

// now returns the last progress reported; before any, no bytes of an
// unknown size.
func (w *fetchWatch) now() peer.FetchProgress {
	if p := w.last.Load(); p != nil {
		return *p
	}
	return peer.FetchProgress{Size: -1}
}

// withFetchBar runs fn, the fetch of name, and on a terminal, once fn
// has run for spinnerDelay, shows how it goes: once the holders have told
// the file's size, a bar that fills toward it, with the percent, the
// bytes, their rate, the time elapsed and left, and the holders sending;
// until then, or for good when no holder tells the size (a book node), the
// spinner with the bytes so far.
func (c *client) withFetchBar(name string, fn func() error) error {
	var bar *progressbar.ProgressBar
	sized := false
	defer func() {
		if bar != nil {
			bar.Finish()
		}
	}()
	return c.whileRunning(fn, func() {
		p := c.watch.now()
		if bar == nil || !sized && p.Size >= 0 {
			if bar != nil {
				bar.Finish() // the spinner goes; the bar takes its line
			}
			sized = p.Size >= 0
			bar = c.newFetchBar(p.Size)
		}
		if sized {
			bar.Describe(fmt.Sprintf("fetching %s from %s", name, holders(p.Holders)))
		} else {
			bar.Describe("fetching " + name)
		}
		bar.Set64(p.Bytes)
	})
}

// newFetchBar returns a bar toward size bytes, or a spinner if size is -1.
func (c *client) newFetchBar(size int64) *progressbar.ProgressBar {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(c.out),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionUseIECUnits(true), // KiB and MiB, as the messages say
	}
	if size < 0 {
		opts = append(opts, progressbar.OptionSpinnerType(14))
	} else {
		opts = append(opts, progressbar.OptionSetPredictTime(true), progressbar.OptionSetWidth(20),
			progressbar.OptionShowCount(), progressbar.OptionShowTotalBytes(true))
	}
	bar := progressbar.NewOptions64(size, opts...)
	bar.RenderBlank()
	return bar
}

// holders says how many holders there are, in words.
func holders(n int) string {
	if n == 1 {
		return "1 holder"
	}
	return fmt.Sprintf("%d holders", n)
}
