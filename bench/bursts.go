package main

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// printBursts sums up the execution traces of child servers
// ($FILEPEER_BENCH_TRACE): for each, the bursts in which a goroutine ran,
// from being woken to blocking again, that made a system call, and what
// their time went to. A node that passes a query on runs two bursts a
// query, one for the request and one for the reply; a forwarder one for
// each way.
func printBursts(files []string) error {
	if len(files) == 0 {
		return errors.New("-bursts takes the trace files to read")
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "trace\tbursts\tµs a burst\tof it in system calls\tthe costliest system calls: times a burst × µs each\t")
	for _, f := range files {
		b, err := readBursts(f)
		if err != nil {
			return err
		}
		var calls []string
		names := slices.SortedFunc(maps.Keys(b.callTime), func(x, y string) int { return cmp.Compare(b.callTime[y], b.callTime[x]) })
		for _, k := range names[:min(len(names), 3)] {
			short := k[strings.LastIndexByte(k, '.')+1:]
			calls = append(calls, fmt.Sprintf("%s %.1f×%.1f", short, float64(b.calls[k])/float64(b.n), b.callTime[k]/float64(b.calls[k])/1e3))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%s\t\n", f, b.n, b.time/float64(b.n)/1e3, b.inCalls/float64(b.n)/1e3, strings.Join(calls, ", "))
	}
	return tw.Flush()
}

// bursts sums up one trace's bursts; times are in nanoseconds.
type bursts struct {
	n             int
	time, inCalls float64
	calls         map[string]int
	callTime      map[string]float64
}

// readBursts reads a trace through go tool trace's dump of its events:
// a goroutine's transitions are lines such as
// "M=1 P=0 G=7 StateTransition Time=123 GoID=7 Running->Syscall ...",
// each followed by the stack it happened on, one tab-indented frame a line.
func readBursts(file string) (*bursts, error) {
	cmd := exec.Command("go", "tool", "trace", "-d=parsed", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b, err := sumBursts(out)
	io.Copy(io.Discard, out)
	if werr := cmd.Wait(); werr != nil {
		return nil, fmt.Errorf("go tool trace %s: %w: %s", file, werr, bytes.TrimSpace(stderr.Bytes()))
	}
	if err == nil && b.n == 0 {
		err = errors.New("no bursts")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return b, nil
}

// sumBursts sums up the bursts of the dump of events that r reads.
func sumBursts(r io.Reader) (*bursts, error) {
	b := &bursts{calls: map[string]int{}, callTime: map[string]float64{}}
	type state struct {
		woke, callStart float64
		call            string
		// the system calls of the burst so far
		calls    map[string]int
		callTime map[string]float64
	}
	gs := map[string]*state{}
	var (
		pending *state // a goroutine that entered a system call, awaiting its stack
		now     float64
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if pending != nil && strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, "\t\t") {
			frame, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			pending.call, pending = frame, nil
			continue
		}
		if !strings.HasPrefix(line, "M=") {
			continue
		}
		pending = nil
		if !strings.Contains(line, " StateTransition ") || !strings.Contains(line, " GoID=") {
			continue
		}
		var g, move string
		for _, field := range strings.Fields(line) {
			switch {
			case strings.HasPrefix(field, "Time="):
				now, _ = strconv.ParseFloat(field[len("Time="):], 64)
			case strings.HasPrefix(field, "GoID="):
				g = field[len("GoID="):]
			case strings.Contains(field, "->"):
				move = field
			}
		}
		s := gs[g]
		if s == nil {
			s = &state{woke: -1}
			gs[g] = s
		}
		switch move {
		case "Runnable->Running":
			if s.woke < 0 {
				*s = state{woke: now, calls: map[string]int{}, callTime: map[string]float64{}}
			}
		case "Running->Syscall":
			s.callStart, s.call, pending = now, "", s
		case "Syscall->Running", "Syscall->Runnable":
			if s.woke >= 0 && s.call != "" {
				s.calls[s.call]++
				s.callTime[s.call] += now - s.callStart
			}
		case "Running->Waiting":
			if s.woke >= 0 && len(s.calls) > 0 {
				b.n++
				b.time += now - s.woke
				for k, n := range s.calls {
					b.calls[k] += n
					b.callTime[k] += s.callTime[k]
					b.inCalls += s.callTime[k]
				}
			}
			s.woke = -1
		}
	}
	return b, sc.Err()
}
