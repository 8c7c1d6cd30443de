package engine

import (
	"context"
	"github.com/weftdb/weft/catalog"
	"slices"
	"sync"
	"time"

	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
)

// backendRegistry numbers the sessions of a database (their process ids,
// as clients see them in BackendKeyData and pg_backend_pid()) and lets one
// session see and signal the others: pg_stat_activity, pg_cancel_backend,
// pg_terminate_backend.
type backendRegistry struct {
	mu      sync.Mutex
	nextPID int32
	byPID   map[int32]*Session
}

func (r *backendRegistry) register(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byPID == nil {
		r.byPID = map[int32]*Session{}
	}
	r.nextPID++
	s.act.pid = r.nextPID
	r.byPID[r.nextPID] = s
}

func (r *backendRegistry) unregister(pid int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byPID, pid)
}

func (r *backendRegistry) lookup(pid int32) *Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byPID[pid]
}

func (r *backendRegistry) sessions() []*Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Session, 0, len(r.byPID))
	for _, s := range r.byPID {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Session) int { return int(a.act.pid - b.act.pid) })
	return out
}

// activity is what other sessions may read of a session while it runs,
// guarded by its own lock.
type activity struct {
	mu           sync.Mutex
	pid          int32
	clientAddr   string
	backendType  string
	backendStart time.Time
	queryStart   time.Time
	stateChange  time.Time
	running      bool
	query        string
	// what the session last reported of itself, between statements
	user    string
	appName string
	txState byte
	// cancel stops the running statement
	cancel context.CancelFunc
	// terminate ends the session; the server sets it to close the
	// connection, otherwise the session refuses further statements
	terminate  func()
	terminated bool
}

// SetClient records the session's client address (pg_stat_activity's
// client_addr) and how it ends when terminated by pg_terminate_backend:
// the server closes the connection there.
func (s *Session) SetClient(addr string, terminate func()) {
	s.act.mu.Lock()
	defer s.act.mu.Unlock()
	s.act.clientAddr, s.act.terminate = addr, terminate
}

// BackendPID is the session's process id as clients see it.
func (s *Session) BackendPID() int32 { return s.act.pid }

// startStatement marks the session active with query; the returned
// function marks it idle again. cancel is how another session's
// pg_cancel_backend stops the statement.
func (s *Session) startStatement(query string, cancel context.CancelFunc) (finish func()) {
	now := time.Now()
	s.act.mu.Lock()
	s.act.running, s.act.query, s.act.queryStart, s.act.stateChange, s.act.cancel = true, query, now, now, cancel
	s.act.mu.Unlock()
	return func() {
		s.act.mu.Lock()
		s.act.running, s.act.stateChange, s.act.cancel = false, time.Now(), nil
		s.act.mu.Unlock()
	}
}

// terminatedError is what a session ended by pg_terminate_backend answers.
func terminatedError() *sqlerr.Error {
	e := sqlerr.New(sqlerr.AdminShutdown, "terminating connection due to administrator command")
	e.Severity = "FATAL"
	return e
}

// checkTerminated refuses statements once the session was terminated.
func (s *Session) checkTerminated() error {
	s.act.mu.Lock()
	defer s.act.mu.Unlock()
	if s.act.terminated {
		return terminatedError()
	}
	return nil
}

// Terminated reports whether pg_terminate_backend ended the session.
func (s *Session) Terminated() bool {
	s.act.mu.Lock()
	defer s.act.mu.Unlock()
	return s.act.terminated
}

// noteState publishes what pg_stat_activity shows between statements:
// the transaction state, the role and application_name. Only the
// session's own goroutine calls it.
func (s *Session) noteState() {
	tx, app := s.TxStatus(), s.settings["application_name"]
	s.act.mu.Lock()
	defer s.act.mu.Unlock()
	s.act.txState, s.act.appName, s.act.user = tx, app, s.user
}

// snapshot is the session's pg_stat_activity row.
func (s *Session) snapshot() exec.BackendActivity {
	s.act.mu.Lock()
	defer s.act.mu.Unlock()
	state := "idle"
	switch {
	case s.act.running:
		state = "active"
	case s.act.txState == 'T':
		state = "idle in transaction"
	case s.act.txState == 'E':
		state = "idle in transaction (aborted)"
	}
	user := s.act.user
	return exec.BackendActivity{PID: s.act.pid, Database: "weft", User: user, AppName: s.act.appName,
		ClientAddr: s.act.clientAddr, BackendStart: s.act.backendStart, QueryStart: s.act.queryStart,
		StateChange: s.act.stateChange, State: state, Query: s.act.query, BackendType: s.act.backendType}
}

// sessionBackends is exec.Backends as one session sees the database.
type sessionBackends struct{ s *Session }

func (b sessionBackends) Activity() []exec.BackendActivity {
	var out []exec.BackendActivity
	for _, other := range b.s.db.backends.sessions() {
		a := other.snapshot()
		if !mayWatch(b.s.db.cat, b.s.currentRole(), other.roleName()) {
			a = exec.BackendActivity{PID: a.PID, Database: a.Database, User: a.User, AppName: a.AppName,
				Query: "<insufficient privilege>", Restricted: true}
		}
		out = append(out, a)
	}
	return out
}

// mayWatch is PostgreSQL's rule for what pg_stat_activity shows: a
// superuser sees every session's activity, other roles those of roles
// they are members of (their own).
func mayWatch(cat *catalog.Catalog, viewer, target string) bool {
	return viewer == target || cat.IsMemberOfRole(viewer, target)
}

func (b sessionBackends) Signal(pid int64, terminate bool) (bool, error) {
	target := b.s.db.backends.lookup(int32(pid))
	if target == nil || int64(int32(pid)) != pid {
		return false, nil
	}
	if err := maySignal(b.s.db.cat, b.s.currentRole(), target.roleName(), terminate); err != nil {
		return false, err
	}
	target.signal(terminate)
	return true, nil
}

// roleName is the session's role as other sessions may read it.
func (s *Session) roleName() string {
	s.act.mu.Lock()
	defer s.act.mu.Unlock()
	return s.act.user
}

// signal cancels the running statement and, to terminate, ends the session.
func (s *Session) signal(terminate bool) {
	s.act.mu.Lock()
	cancel, end := s.act.cancel, s.act.terminate
	if terminate {
		s.act.terminated = true
	}
	s.act.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if terminate && end != nil {
		end()
	}
}

// maySignal is PostgreSQL's rule for pg_cancel_backend and
// pg_terminate_backend: a superuser may signal anyone; others only
// sessions of their own role, never a superuser's.
func maySignal(cat *catalog.Catalog, caller, target string, terminate bool) error {
	if cat.IsSuperuser(caller) {
		return nil
	}
	if cat.IsSuperuser(target) {
		if terminate {
			return sqlerr.New(sqlerr.InsufficientPrivilege, "must be a superuser to terminate superuser process")
		}
		return sqlerr.New(sqlerr.InsufficientPrivilege, "must be a superuser to cancel superuser query")
	}
	if caller != target && !cat.IsMemberOfRole(caller, target) && !cat.IsMemberOfRole(caller, "pg_signal_backend") {
		if terminate {
			return sqlerr.New(sqlerr.InsufficientPrivilege, "must be a member of the role whose process is being terminated or member of pg_signal_backend")
		}
		return sqlerr.New(sqlerr.InsufficientPrivilege, "must be a member of the role whose query is being canceled or member of pg_signal_backend")
	}
	return nil
}
