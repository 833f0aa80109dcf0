package peer_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// emuLink is a point-to-point link whose wire is the test process: each
// end is a TUN device, and each IP packet one end sends is read here and
// written into the other end. While the link is healthy it passes at once;
// once impaired, a packet is dropped with probability loss, sent at once
// (overtaking the packets in flight) with probability jump, and otherwise
// delayed by delay. That is what netem's "delay 20ms loss 1% reorder 10%"
// does, on any kernel with TUN devices (netem is a module some kernels
// lack). The link counts what it did.
type emuLink struct {
	ends [2]*os.File

	delay      time.Duration
	loss, jump float64
	impaired   atomic.Bool

	forwarded, dropped, reordered atomic.Int64

	workers sync.WaitGroup
}

// queueLen bounds the packets an impaired link holds each way, as a
// device queue does; more are dropped.
const queueLen = 4096

// delayed is a packet waiting out the link's delay.
type delayed struct {
	at  time.Time
	pkt []byte
}

// newEmuLink makes TUN devices named a and b in this namespace; the caller
// moves them where they belong and gives them addresses.
func newEmuLink(a, b string) (*emuLink, error) {
	l := &emuLink{delay: 20 * time.Millisecond, loss: 0.01, jump: 0.10}
	for i, name := range []string{a, b} {
		f, err := openTUN(name)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.ends[i] = f
	}
	for i := range l.ends {
		queue := make(chan delayed, queueLen)
		l.workers.Add(2)
		go l.read(i, queue)
		go l.deliver(l.ends[1-i], queue)
	}
	return l, nil
}

// openTUN makes the TUN device name, carrying bare IP packets, and returns
// its file, non-blocking so that Close ends a Read waiting on it.
func openTUN(name string) (*os.File, error) {
	fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	var req struct {
		name  [syscall.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], name)
	req.flags = syscall.IFF_TUN | syscall.IFF_NO_PI
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TUNSETIFF, uintptr(unsafe.Pointer(&req))); errno != 0 {
		syscall.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %w", name, errno)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// impair makes the link lossy, slow and reordering from now on.
func (l *emuLink) impair() { l.impaired.Store(true) }

// read takes the packets end from sends until the link is closed, and
// passes them on, or queues them for deliver, or drops them.
func (l *emuLink) read(from int, queue chan<- delayed) {
	defer l.workers.Done()
	defer close(queue)
	rng := rand.New(rand.NewPCG(uint64(from), 1))
	for {
		buf := make([]byte, 65536)
		n, err := l.ends[from].Read(buf)
		if errors.Is(err, os.ErrClosed) {
			return
		}
		if err != nil {
			// The device going down and up again: wait rather than
			// spin on an error that may repeat until Close.
			time.Sleep(time.Millisecond)
			continue
		}
		pkt := buf[:n]
		switch {
		case !l.impaired.Load():
			l.send(l.ends[1-from], pkt)
		case rng.Float64() < l.loss:
			l.dropped.Add(1)
		case rng.Float64() < l.jump:
			if len(queue) > 0 {
				l.reordered.Add(1)
			}
			l.send(l.ends[1-from], pkt)
		default:
			select {
			case queue <- delayed{time.Now().Add(l.delay), pkt}:
			default:
				l.dropped.Add(1) // the queue is full
			}
		}
	}
}

// deliver writes the queued packets to end, each once its delay is over.
func (l *emuLink) deliver(end *os.File, queue <-chan delayed) {
	defer l.workers.Done()
	for d := range queue {
		time.Sleep(time.Until(d.at))
		l.send(end, d.pkt)
	}
}

// send writes pkt into end. A write to an end that is down fails, and the
// packet is lost, as on a wire.
func (l *emuLink) send(end *os.File, pkt []byte) {
	if _, err := end.Write(pkt); err == nil {
		l.forwarded.Add(1)
	}
}

// Close removes both devices and waits for the link's goroutines.
func (l *emuLink) Close() error {
	for _, f := range l.ends {
		if f != nil {
			f.Close()
		}
	}
	l.workers.Wait()
	return nil
}

// String says what the link did.
func (l *emuLink) String() string {
	return fmt.Sprintf("%d packets forwarded, %d dropped, %d sent ahead of others", l.forwarded.Load(), l.dropped.Load(), l.reordered.Load())
}
