package engine

import (
	"sync"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/sqlerr"
)

// LISTEN / NOTIFY: a session that listens on a channel receives every
// notification sent on it, by itself or another session; one sent inside
// a transaction block is delivered when the block commits, and not at all
// when it rolls back, as in PostgreSQL. The wire protocol layer takes a
// session's notifications (Notifications) between statements, and is
// told through the hook (SetNotifyHook) that some are waiting, so that an
// idle connection can be sent them at once.

// Notification is one NOTIFY as a listener receives it.
type Notification struct {
	PID     int32 // of the session that sent it
	Channel string
	Payload string
}

// maxNotifyPayload is PostgreSQL's limit on a payload (8000 bytes).
const maxNotifyPayload = 7999

// notifyHub is the database's table of listeners.
type notifyHub struct {
	mu        sync.Mutex
	listeners map[string]map[*Session]bool // by channel
}

func newNotifyHub() *notifyHub { return &notifyHub{listeners: map[string]map[*Session]bool{}} }

func (h *notifyHub) listen(s *Session, channel string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.listeners[channel] == nil {
		h.listeners[channel] = map[*Session]bool{}
	}
	h.listeners[channel][s] = true
}

// unlisten stops s listening on channel ("" for every channel).
func (h *notifyHub) unlisten(s *Session, channel string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch, set := range h.listeners {
		if channel == "" || ch == channel {
			delete(set, s)
			if len(set) == 0 {
				delete(h.listeners, ch)
			}
		}
	}
}

// send delivers notifications to every session listening on their
// channels.
func (h *notifyHub) send(ns []Notification) {
	h.mu.Lock()
	var woken []*Session
	for _, n := range ns {
		for s := range h.listeners[n.Channel] {
			s.inbox.add(n)
			woken = append(woken, s)
		}
	}
	h.mu.Unlock()
	for _, s := range woken {
		s.inbox.wake()
	}
}

// inbox holds a session's notifications until the client is sent them.
type inbox struct {
	mu      sync.Mutex
	pending []Notification
	hook    func()
}

func (b *inbox) add(n Notification) {
	b.mu.Lock()
	b.pending = append(b.pending, n)
	b.mu.Unlock()
}

func (b *inbox) wake() {
	b.mu.Lock()
	hook := b.hook
	b.mu.Unlock()
	if hook != nil {
		hook()
	}
}

// Notifications takes the notifications waiting for the session's client.
func (s *Session) Notifications() []Notification {
	s.inbox.mu.Lock()
	defer s.inbox.mu.Unlock()
	out := s.inbox.pending
	s.inbox.pending = nil
	return out
}

// SetNotifyHook makes f be called, from another session's goroutine,
// whenever notifications arrive for this session.
func (s *Session) SetNotifyHook(f func()) {
	s.inbox.mu.Lock()
	s.inbox.hook = f
	s.inbox.mu.Unlock()
}

func (s *Session) listenStmt(st *pg.ListenStmt) (*Result, error) {
	s.db.notify.listen(s, st.Conditionname)
	return &Result{Tag: "LISTEN"}, nil
}

func (s *Session) unlistenStmt(st *pg.UnlistenStmt) (*Result, error) {
	s.db.notify.unlisten(s, st.Conditionname) // "" is UNLISTEN *
	return &Result{Tag: "UNLISTEN"}, nil
}

func (s *Session) notifyStmt(st *pg.NotifyStmt) (*Result, error) {
	return &Result{Tag: "NOTIFY"}, s.notify(st.Conditionname, st.Payload)
}

// notify sends a notification now, or at COMMIT inside a block; the same
// channel and payload twice in one block is sent once.
func (s *Session) notify(channel, payload string) error {
	if channel == "" {
		return sqlerr.New(sqlerr.InvalidParameter, "channel name cannot be empty")
	}
	if len(channel) >= 64 {
		return sqlerr.New(sqlerr.InvalidParameter, "channel name too long")
	}
	if len(payload) > maxNotifyPayload {
		return sqlerr.New(sqlerr.InvalidParameter, "payload string too long")
	}
	n := Notification{PID: s.act.pid, Channel: channel, Payload: payload}
	if s.tx == nil {
		s.db.notify.send([]Notification{n})
		return nil
	}
	for _, q := range s.tx.notifies {
		if q == n {
			return nil
		}
	}
	s.tx.notifies = append(s.tx.notifies, n)
	return nil
}

// sendCommitted delivers what a committed block notified.
func (s *Session) sendCommitted(ns []Notification) {
	if len(ns) > 0 {
		s.db.notify.send(ns)
	}
}
