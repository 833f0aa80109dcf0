package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// Defaults of the bounds on a fetch (Config.MaxFetchBytes, DiskReserve,
// MinFetchRate, FetchRateWindow).
const (
	DefaultMaxFetchBytes   = 16 << 30
	DefaultDiskReserve     = 256 << 20
	DefaultMinFetchRate    = 1 << 10
	DefaultFetchRateWindow = 60 * time.Second
)

// diskCheckEvery is how many bytes a fetch writes between looks at the
// disk's free space.
const diskCheckEvery = 4 << 20

// Errors of a fetch that went past a bound; Fetch wraps them.
var (
	ErrFetchTooLarge = errors.New("peer: the file exceeds Config.MaxFetchBytes")
	ErrDiskReserve   = errors.New("peer: the disk's free space would fall below Config.DiskReserve")
	ErrFetchTooSlow  = errors.New("peer: the transfer stayed below Config.MinFetchRate")
)

// fetchBounds are a node's bounds on a fetch, each 0 when off.
type fetchBounds struct {
	max, reserve, floor int64
	window              time.Duration
}

func newFetchBounds(cfg Config) fetchBounds {
	pick := func(v, def int64) int64 {
		switch {
		case v < 0:
			return 0
		case v == 0:
			return def
		}
		return v
	}
	b := fetchBounds{
		max:     pick(cfg.MaxFetchBytes, DefaultMaxFetchBytes),
		reserve: pick(cfg.DiskReserve, DefaultDiskReserve),
		floor:   pick(cfg.MinFetchRate, DefaultMinFetchRate),
		window:  time.Duration(pick(int64(cfg.FetchRateWindow), int64(DefaultFetchRateWindow))),
	}
	if b.floor == 0 {
		b.window = 0
	}
	return b
}

// fetchMeter counts a fetch's bytes and, if the node has a rate floor,
// cancels the fetch's context (cause ErrFetchTooSlow) when a whole window
// goes by with fewer than floor×window bytes. A peer that drips a byte
// at a time, never long enough silent for the transport's stall timeout,
// thus cannot hold a fetch as long as it likes.
type fetchMeter struct {
	bytes  atomic.Int64
	last   int64 // bytes at the last check; only the timer's func uses it
	need   int64 // bytes a window must bring
	window time.Duration
	cancel context.CancelCauseFunc
	timer  *time.Timer
	done   atomic.Bool // stop was called: check must not rearm the timer
}

// meter returns ctx, which the meter cancels, and the meter; start must
// be called when the file begins to arrive (the search before it is the
// transport's to time), and stop when the fetch ends.
func (b fetchBounds) meter(ctx context.Context) (context.Context, *fetchMeter) {
	m := &fetchMeter{window: b.window}
	ctx, m.cancel = context.WithCancelCause(ctx)
	if b.window > 0 {
		m.need = max(1, int64(float64(b.floor)*b.window.Seconds()))
	}
	return ctx, m
}

// start starts the meter's window; a fetch that starts again (by query,
// or from other holders) keeps the window going.
func (m *fetchMeter) start() {
	if m.window > 0 && m.timer == nil {
		// Made stopped, then set going, so that check, which
		// rearms it, never runs before m.timer is set.
		m.timer = time.AfterFunc(time.Hour, m.check)
		m.timer.Stop()
		m.timer.Reset(m.window)
	}
}

func (m *fetchMeter) check() {
	if m.done.Load() {
		return
	}
	now := m.bytes.Load()
	if now-m.last < m.need {
		m.cancel(ErrFetchTooSlow)
		return
	}
	m.last = now
	m.timer.Reset(m.window)
}

func (m *fetchMeter) stop() {
	m.done.Store(true)
	if m.timer != nil {
		m.timer.Stop()
	}
	m.cancel(nil)
}

// boundedWriter writes a fetched file, failing past the size cap or when
// the disk's free space nears the reserve.
type boundedWriter struct {
	f         *os.File
	b         fetchBounds
	m         *fetchMeter
	written   int64
	nextCheck int64
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if w.b.max > 0 && w.written+int64(len(p)) > w.b.max {
		return 0, fmt.Errorf("%w (%d bytes)", ErrFetchTooLarge, w.b.max)
	}
	if w.b.reserve > 0 && w.written >= w.nextCheck {
		if free, ok := diskFree(w.f); ok && free-int64(len(p))-diskCheckEvery < w.b.reserve {
			return 0, fmt.Errorf("%w (%d bytes)", ErrDiskReserve, w.b.reserve)
		}
		w.nextCheck = w.written + diskCheckEvery
	}
	n, err := w.f.Write(p)
	w.written += int64(n)
	w.m.bytes.Add(int64(n))
	return n, err
}

// fetchCause prefers the bound that ended a fetch's context to the
// context error it caused.
func fetchCause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); errors.Is(c, ErrFetchTooSlow) && !errors.Is(err, c) {
		return fmt.Errorf("%w (%v)", c, err)
	}
	return err
}

var _ io.Writer = (*boundedWriter)(nil)
