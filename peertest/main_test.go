package peertest_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var bg = context.Background()

// deadline returns a context that ends long after any correct test step,
// so that a black hole or a bug fails the test instead of hanging it.
func deadline(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(bg, time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// short returns a context for a call that a black hole must end: short,
// so that the test is quick, and never asserted on as a time.
func short(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// fatalTB stands in for a test to catch what peertest reports with Fatal
// and Error, running the rest (cleanups, temporary directories) on the
// real test.
type fatalTB struct {
	testing.TB
	mu     sync.Mutex
	msgs   []string
	failed bool
}

func (f *fatalTB) Fatal(args ...any) { f.record(fmt.Sprint(args...)); runtime.Goexit() }
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.record(fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (f *fatalTB) Error(args ...any)                 { f.record(fmt.Sprint(args...)) }
func (f *fatalTB) Errorf(format string, args ...any) { f.record(fmt.Sprintf(format, args...)) }
func (f *fatalTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *fatalTB) record(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, msg)
	f.failed = true
}

func (f *fatalTB) messages() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.msgs...)
}

// fatalOf runs fn with a stand-in test in a goroutine of its own, where
// Fatal can end it, and returns the first message fn reported, or "".
func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	if msgs := f.messages(); len(msgs) > 0 {
		return msgs[0]
	}
	return ""
}
