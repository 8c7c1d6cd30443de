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
	err     error // a read error seen while watching
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

// watch starts watching; the returned function stops and waits.
func (w *watchedConn) watch(cancel func()) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := w.Conn.Read(buf)
			w.mu.Lock()
			w.pending = append(w.pending, buf[:n]...)
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				w.err = err
			}
			// a Terminate while the query runs: the client has given up on
			// it (pgx does this when its context ends)
			terminating := len(w.pending) > 0 && w.pending[0] == 'X'
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
	}()
	return func() {
		w.Conn.SetReadDeadline(time.Now())
		<-done
		w.Conn.SetReadDeadline(time.Time{})
	}
}
