package pgwire

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// watchedConn lets the server notice a client that disconnects while its
// query runs: during execution a goroutine keeps reading the socket into a
// buffer (the protocol's reader gets those bytes afterwards), and a read
// error — the client went away — or a Terminate message cancels the query.
// maxWatchedBytes bounds what watching buffers.
const maxWatchedBytes = 1 << 20

type watchedConn struct {
	net.Conn
	mu      sync.Mutex
	pending []byte
	err     error  // a read error seen while watching
	buf     []byte // the watcher's read buffer (one watcher at a time)
}

func (w *watchedConn) Read(p []byte) (int, error) {
	w.mu.Lock()
	if len(w.pending) > 0 {
		n := copy(p, w.pending)
		w.pending = w.pending[n:]
		w.mu.Unlock()
		return n, nil
	}
	err := w.err
	w.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return w.Conn.Read(p)
}

// watchDelay is how long a statement runs before its connection is
// watched: most statements end sooner, and starting a reader goroutine
// (and waking it with a deadline) for each cost a lookup a good part of
// its time.
const watchDelay = time.Millisecond

// watch starts watching once the statement has run for watchDelay; the
// returned function stops and waits. atBoundary reports that the socket's
// next byte starts a message (nothing of it read ahead into a buffer):
// only then is a leading 'X' a Terminate.
func (w *watchedConn) watch(cancel func(), atBoundary bool) (stop func()) {
	var mu sync.Mutex
	started, stopped := false, false
	done := make(chan struct{})
	timer := time.AfterFunc(watchDelay, func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			started = true
			go w.watchSocket(cancel, atBoundary, done)
		}
	})
	return func() {
		mu.Lock()
		stopped = true
		wasStarted := started
		mu.Unlock()
		timer.Stop()
		if wasStarted {
			w.Conn.SetReadDeadline(time.Now())
			<-done
			w.Conn.SetReadDeadline(time.Time{})
		}
	}
}

// watchSocket reads the socket into pending until its read deadline,
// cancelling the statement if the client goes away or sends Terminate.
func (w *watchedConn) watchSocket(cancel func(), atBoundary bool, done chan struct{}) {
	defer close(done)
	if w.buf == nil {
		w.buf = make([]byte, 4096)
	}
	buf := w.buf
	for {
		n, err := w.Conn.Read(buf)
		w.mu.Lock()
		w.pending = append(w.pending, buf[:n]...)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			w.err = err
		}
		// a Terminate while the query runs: the client has given up on
		// it (pgx does this when its context ends)
		terminating := atBoundary && len(w.pending) > 0 && w.pending[0] == 'X'
		// a client pipelining more than this while the query runs is
		// left in the socket's buffer rather than in memory here
		full := len(w.pending) >= maxWatchedBytes
		w.mu.Unlock()
		if terminating {
			cancel()
		}
		if full {
			return
		}
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				cancel()
			}
			return
		}
	}
}
