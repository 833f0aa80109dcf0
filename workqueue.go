package peer

import (
	"context"
	"sync"
)

// workQueue runs do on the keys queued to it, at most max at a time, on
// goroutines that live only while there is work and that the node's
// Close waits for; do gets the node's context, which ends when it closes.
// A key is queued once at a time, and at most maxQueued wait. A node
// hashes files (hashes.go) and probes the peers it is told of (admit.go)
// so. Safe for concurrent use.
type workQueue struct {
	n         *Node
	max       int
	maxQueued int
	do        func(ctx context.Context, key string)

	mu sync.Mutex
	// guards queue, queued, workers and idle
	queue   []string
	queued  map[string]bool
	workers int
	idle    chan struct{} // closed when the last worker ends; nil if nobody waits
}

func newWorkQueue(n *Node, max, maxQueued int, do func(context.Context, string)) *workQueue {
	return &workQueue{n: n, max: max, maxQueued: maxQueued, do: do, queued: make(map[string]bool)}
}

// add queues key unless it is queued already, and reports whether it is
// now queued: false if the queue is full or the node closed.
func (q *workQueue) add(key string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queued[key] {
		return true
	}
	if len(q.queue) >= q.maxQueued {
		return false
	}
	if q.workers < q.max {
		if q.n.register() != nil {
			return false
		}
		q.workers++
		go q.work()
	}
	q.queued[key] = true
	q.queue = append(q.queue, key)
	return true
}

// work runs the queued keys until none is left or the node closes.
func (q *workQueue) work() {
	defer q.n.calls.Done()
	for {
		q.mu.Lock()
		if len(q.queue) == 0 || q.n.ctx.Err() != nil {
			q.workers--
			if q.workers == 0 && q.idle != nil {
				close(q.idle)
				q.idle = nil
			}
			q.mu.Unlock()
			return
		}
		key := q.queue[0]
		q.queue = q.queue[1:]
		q.mu.Unlock()
		q.do(q.n.ctx, key)
		q.mu.Lock()
		delete(q.queued, key)
		q.mu.Unlock()
	}
}

// wait returns once no key is queued or being worked on, or ctx ends.
func (q *workQueue) wait(ctx context.Context) error {
	q.mu.Lock()
	if q.workers == 0 {
		q.mu.Unlock()
		return nil
	}
	if q.idle == nil {
		q.idle = make(chan struct{})
	}
	idle := q.idle
	q.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
