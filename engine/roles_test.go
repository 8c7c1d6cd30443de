package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/udf"
)

// asRole starts a session that logged in as role.
func asRole(db *engine.DB, role string) *engine.Session {
	s := db.NewSession()
	s.SetIdentity(role, 0)
	return s
}

// wantCode runs sql and checks it fails with code.
func wantCode(t *testing.T, s *engine.Session, sql, code string) {
	t.Helper()
	rs, err := s.Exec(context.Background(), sql)
	for _, r := range rs {
		r.Release()
	}
	var se *sqlerr.Error
	if !errors.As(err, &se) || se.Code != code {
		t.Errorf("%s: want %s, got %v", sql, code, err)
	}
}

func TestRolesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, dir, mem)
	s := db.NewSession()
	mustExec(t, s, `CREATE ROLE alice LOGIN PASSWORD 'pw';
		CREATE ROLE team NOINHERIT CREATEDB CONNECTION LIMIT 5 VALID UNTIL '2030-01-01';
		CREATE ROLE lead CREATEROLE;
		GRANT team TO alice WITH ADMIN OPTION`)
	db.Close()

	db = openDir(t, dir, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s = db.NewSession()
	checks := map[string]string{
		"SELECT rolname, rolsuper, rolinherit, rolcreatedb, rolconnlimit, rolvaliduntil FROM pg_roles WHERE rolname = 'team'": "team|f|f|t|5|2030-01-01 00:00:00+00",
		"SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = 'lead'":                                                 "f|t",
		"SELECT rolsuper FROM pg_roles WHERE rolname = 'weft'":                                                                "t",
		"SELECT roleid::regrole::text || '>' || member::regrole::text, admin_option FROM pg_auth_members":                     "team>alice|t",
	}
	for q, want := range checks {
		if got := rows(t, s, q); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", q, got, want)
		}
	}
	// alice is still an ordinary role after the restart
	alice := asRole(db, "alice")
	wantCode(t, alice, "CREATE ROLE evil SUPERUSER", sqlerr.InsufficientPrivilege)
	wantCode(t, alice, "ALTER ROLE weft NOLOGIN", sqlerr.InsufficientPrivilege)
	mustExec(t, alice, "GRANT team TO lead") // her admin option survived
}

// TestCatalogFromBeforePrivilegesOpens opens a data directory whose
// catalog was written before roles had attributes: its roles become
// ordinary roles with PostgreSQL's defaults, and the bootstrap superuser
// is added.
func TestCatalogFromBeforePrivilegesOpens(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, dir, mem)
	mustExec(t, db.NewSession(), "CREATE TABLE t (a int); INSERT INTO t VALUES (1)")
	db.Close()
	path := filepath.Join(dir, "catalog.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// the catalog itself, out of its checksummed wrapper: a catalog from
	// before privileges is also from before checksums
	var wrapper struct {
		Catalog map[string]any `json:"catalog"`
	}
	if err := json.Unmarshal(raw, &wrapper); err != nil {
		t.Fatal(err)
	}
	sc := wrapper.Catalog
	// the old form: roles with a name, LOGIN and a verifier only
	sc["roles"] = []map[string]any{{"Name": "admin", "Login": true, "Verifier": ""}}
	delete(sc, "privileges")
	delete(sc, "role_members")
	if raw, err = json.Marshal(sc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	db = openDir(t, dir, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	got := rows(t, s, "SELECT rolname, rolsuper, rolinherit, rolcanlogin FROM pg_roles WHERE rolname IN ('admin', 'weft') ORDER BY 1")
	want := []string{"admin|f|t|t", "weft|t|t|t"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("roles after upgrade %v, want %v", got, want)
	}
	if got := rows(t, s, "SELECT current_user"); len(got) != 1 || got[0] != "weft" {
		t.Errorf("embedded session runs as %v, want weft", got)
	}
}

// TestPrivilegesSurviveRestart is the hostile probe's scenario across a
// restart: owners, grants and revokes are stored with the catalog.
func TestPrivilegesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, dir, mem)
	mustExec(t, db.NewSession(), `CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; CREATE ROLE carol LOGIN;
		GRANT CREATE ON SCHEMA public TO alice`)
	alice := asRole(db, "alice")
	mustExec(t, alice, `CREATE TABLE secrets (id int, note text); INSERT INTO secrets VALUES (1, 'x');
		CREATE SEQUENCE s; GRANT SELECT ON secrets TO bob; GRANT SELECT ON secrets TO carol; REVOKE SELECT ON secrets FROM carol`)
	db.Close()

	db = openDir(t, dir, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	checks := map[string]string{
		"SELECT relowner::regrole::text, relacl FROM pg_class WHERE relname = 'secrets'": "alice|{alice=arwdDxt/alice,bob=r/alice}",
		"SELECT relowner::regrole::text FROM pg_class WHERE relname = 's'":               "alice",
		"SELECT nspacl FROM pg_namespace WHERE nspname = 'public'":                       "{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner,alice=C/pg_database_owner}",
	}
	for q, want := range checks {
		if got := rows(t, s, q); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", q, got, want)
		}
	}
	bob, carol := asRole(db, "bob"), asRole(db, "carol")
	if got := rows(t, bob, "SELECT note FROM secrets"); len(got) != 1 || got[0] != "x" {
		t.Errorf("bob reads %v", got)
	}
	wantCode(t, bob, "INSERT INTO secrets VALUES (2, 'y')", sqlerr.InsufficientPrivilege)
	wantCode(t, bob, "DROP TABLE secrets", sqlerr.InsufficientPrivilege)
	wantCode(t, carol, "SELECT * FROM secrets", sqlerr.InsufficientPrivilege)
	wantCode(t, carol, "CREATE TABLE mine (a int)", sqlerr.InsufficientPrivilege)
	wantCode(t, s, "DROP ROLE alice", sqlerr.DependentObjects)
}

// TestEmbeddedIdentity: embedded sessions run as the bootstrap
// superuser; SetIdentity makes one act as another role.
func TestEmbeddedIdentity(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{Mem: mem, Partitions: 1, BootstrapRole: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	if got := rows(t, s, "SELECT current_user, session_user, rolsuper FROM pg_roles WHERE rolname = current_user"); len(got) != 1 || got[0] != "admin|admin|t" {
		t.Errorf("embedded session: %v", got)
	}
	mustExec(t, s, "CREATE ROLE app LOGIN; CREATE TABLE t (a int)")
	app := asRole(db, "app")
	if !s.IsSuperuser() || app.IsSuperuser() {
		t.Errorf("IsSuperuser: admin %v, app %v", s.IsSuperuser(), app.IsSuperuser())
	}
	wantCode(t, app, "SELECT * FROM t", sqlerr.InsufficientPrivilege)
	wantCode(t, app, "ALTER ROLE admin PASSWORD 'x'", sqlerr.InsufficientPrivilege)
	wantCode(t, app, "SET ROLE admin", sqlerr.InsufficientPrivilege)
}

// TestFunctionExecute: PUBLIC may execute a new function, as in
// PostgreSQL, until its owner revokes that; only the owner drops it.
func TestFunctionExecute(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, t.TempDir(), mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	mustExec(t, s, `CREATE ROLE app LOGIN; CREATE ROLE friend LOGIN;
		CREATE FUNCTION add(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'plain.wasm', 'add' IMMUTABLE`)
	app := asRole(db, "app")
	if got := rows(t, app, "SELECT add(1, 2)"); len(got) != 1 || got[0] != "3" {
		t.Fatalf("PUBLIC EXECUTE: %v", got)
	}
	mustExec(t, s, "REVOKE EXECUTE ON FUNCTION add(bigint, bigint) FROM PUBLIC; GRANT EXECUTE ON FUNCTION add TO friend")
	wantCode(t, app, "SELECT add(1, 2)", sqlerr.InsufficientPrivilege)
	wantCode(t, app, "DROP FUNCTION add(bigint, bigint)", sqlerr.InsufficientPrivilege)
	if got := rows(t, asRole(db, "friend"), "SELECT add(1, 2), has_function_privilege('add(bigint, bigint)', 'EXECUTE')"); len(got) != 1 || got[0] != "3|t" {
		t.Errorf("granted EXECUTE: %v", got)
	}
	if got := rows(t, s, "SELECT proowner::regrole::text, proacl FROM pg_proc WHERE proname = 'add'"); len(got) != 1 || got[0] != "weft|{weft=X/weft,friend=X/weft}" {
		t.Errorf("pg_proc: %v", got)
	}
}

// TestServerFileAndRemoteRoles: reading and writing server files and
// connecting out need the predefined roles (superusers always may).
func TestServerFileAndRemoteRoles(t *testing.T) {
	files := t.TempDir()
	if err := os.WriteFile(filepath.Join(files, "a.csv"), []byte("x\n1\n2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{Mem: mem, Partitions: 1, FilesDir: files})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	admin := db.NewSession()
	mustExec(t, admin, "CREATE ROLE app LOGIN; CREATE TABLE t (x int); GRANT ALL ON t TO app")
	app := asRole(db, "app")
	remote := "SELECT * FROM postgres_scan('postgres://weft@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2', 'src')"
	steps := []struct {
		grant string // run by the superuser first
		sql   string
		code  string // "" for success
	}{
		{"", "SELECT count(*) FROM read_csv('a.csv')", sqlerr.InsufficientPrivilege},
		{"", "COPY t FROM 'a.csv' (FORMAT csv, HEADER)", sqlerr.InsufficientPrivilege},
		{"", "COPY t TO 'out.csv' (FORMAT csv)", sqlerr.InsufficientPrivilege},
		{"", remote, sqlerr.InsufficientPrivilege},
		{"GRANT pg_read_server_files TO app", "SELECT count(*) FROM read_csv('a.csv')", ""},
		{"", "COPY t FROM 'a.csv' (FORMAT csv, HEADER)", ""},
		{"", "COPY t TO 'out.csv' (FORMAT csv)", sqlerr.InsufficientPrivilege},
		{"GRANT pg_write_server_files TO app", "COPY t TO 'out.csv' (FORMAT csv)", ""},
		// past the privilege check, the connection itself fails
		{"GRANT weft_remote_sources TO app", remote, sqlerr.SQLClientUnableToEstablishConnection},
		{"REVOKE pg_read_server_files FROM app", "SELECT count(*) FROM read_csv('a.csv')", sqlerr.InsufficientPrivilege},
	}
	for _, st := range steps {
		if st.grant != "" {
			mustExec(t, admin, st.grant)
		}
		if st.code == "" {
			mustExec(t, app, st.sql)
			continue
		}
		wantCode(t, app, st.sql, st.code)
	}
	// the superuser needs no grant
	mustExec(t, admin, "SELECT count(*) FROM read_csv('a.csv'); COPY t TO 'out2.csv' (FORMAT csv)")
}

// TestFilesDirLinks is the probe's repro: a link inside the files
// directory must not let read_csv read, or COPY TO write, outside it.
func TestFilesDirLinks(t *testing.T) {
	base := t.TempDir()
	files, outside := filepath.Join(base, "files"), filepath.Join(base, "etc")
	for _, d := range []string{files, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(outside, "shadow")
	if err := os.WriteFile(secret, []byte("root\nsecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(outside, "victim.csv")
	if err := os.WriteFile(victim, []byte("untouched\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	links := [][2]string{{outside, "link_etc"}, {victim, "out.csv"}, {victim, "planted.csv.tmp"}}
	for _, l := range links {
		if err := os.Symlink(l[0], filepath.Join(files, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{Mem: mem, Partitions: 1, FilesDir: files})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession() // a superuser: only the directory limits it
	mustExec(t, s, "CREATE TABLE t (x text); INSERT INTO t VALUES ('written')")
	for _, sql := range []string{
		"SELECT * FROM read_csv('link_etc/shadow')",
		"SELECT * FROM read_csv('link_etc/*')",
		"COPY t FROM 'link_etc/shadow' (FORMAT csv)",
		"COPY t TO 'link_etc/new.csv' (FORMAT csv)",
		"COPY t TO 'out.csv' (FORMAT csv)", // a link to a file outside
	} {
		wantCode(t, s, sql, sqlerr.InsufficientPrivilege)
	}
	// the temporary file has a fresh random name: a link planted where
	// it used to be (planted.csv.tmp) is never written through
	mustExec(t, s, "COPY t TO 'planted.csv' (FORMAT csv)")
	if b, _ := os.ReadFile(victim); string(b) != "untouched\n" {
		t.Errorf("a link's target was written: %q", b)
	}
	if b, err := os.ReadFile(filepath.Join(files, "planted.csv")); err != nil || string(b) != "written\n" {
		t.Errorf("planted.csv: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "new.csv")); !os.IsNotExist(err) {
		t.Errorf("a file was created outside: %v", err)
	}
}

// TestWasmMemoryStaysWithItsStatement: a wasm instance keeps its linear
// memory between calls, so it is reused only within one statement: what
// one role's call leaves there never reaches another role (or session),
// and no instance stays pooled once the statement is done.
func TestWasmMemoryStaysWithItsStatement(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, t.TempDir(), mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	admin := db.NewSession()
	mustExec(t, admin, `CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;
		CREATE FUNCTION stash(bigint) RETURNS bigint LANGUAGE wasm AS 'plain.wasm', 'stash' VOLATILE;
		CREATE FUNCTION peek(bigint) RETURNS bigint LANGUAGE wasm AS 'plain.wasm', 'peek' VOLATILE`)
	alice, bob := asRole(db, "alice"), asRole(db, "bob")
	if got := rows(t, alice, "SELECT stash(424242)"); len(got) != 1 || got[0] != "424242" {
		t.Fatalf("stash: %v", got)
	}
	for _, s := range []*engine.Session{bob, alice, db.NewSession()} {
		if got := rows(t, s, "SELECT peek(0)"); len(got) != 1 || got[0] != "0" {
			t.Errorf("%s read %v from a fresh instance, want 0", s.CurrentRole(), got)
		}
	}
	// within one statement the instance is reused (rows share it)
	if got := rows(t, alice, "SELECT max(stash(g)) FROM generate_series(1, 100) g"); len(got) != 1 || got[0] != "100" {
		t.Errorf("stash over rows: %v", got)
	}
	if n := engine.IdleWasmInstances(db); n != 0 {
		t.Errorf("%d instances stay pooled after the statements", n)
	}
}

// TestFunctionMemoryCap: only a superuser may give a function more
// memory than the server's maximum.
func TestFunctionMemoryCap(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{Mem: mem, Partitions: 1, MaxFunctionMemory: 64 << 20,
		UDF: udf.Config{ModuleDir: "../testdata/udf/wasm"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	admin := db.NewSession()
	mustExec(t, admin, "CREATE ROLE app LOGIN; GRANT CREATE ON SCHEMA public TO app")
	app := asRole(db, "app")
	create := func(name, limit string) string {
		return "CREATE FUNCTION " + name + "(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'plain.wasm', 'add' SET weft.max_memory = '" + limit + "'"
	}
	wantCode(t, app, create("big", "4GB"), sqlerr.InsufficientPrivilege)
	wantCode(t, app, create("big", "65MB"), sqlerr.InsufficientPrivilege)
	mustExec(t, app, create("small", "64MB"))
	mustExec(t, admin, create("big", "512MB"))
	if got := rows(t, app, "SELECT big(1, 2), small(2, 3)"); len(got) != 1 || got[0] != "3|5" {
		t.Errorf("calls: %v", got)
	}
}

// TestGrantsInTransactionBlocks: GRANT, REVOKE, OWNER TO and GRANT role
// inside a block take effect at COMMIT and are undone by ROLLBACK.
func TestGrantsInTransactionBlocks(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, dir, mem)
	s := db.NewSession()
	mustExec(t, s, "CREATE ROLE bob LOGIN; CREATE ROLE team; CREATE TABLE t (a int); CREATE TABLE u (a int)")
	mustExec(t, s, "BEGIN; GRANT SELECT ON t TO bob; ALTER TABLE u OWNER TO bob; GRANT team TO bob; ROLLBACK")
	mustExec(t, s, "BEGIN; GRANT INSERT ON u TO team; COMMIT")
	db.Close()

	db = openDir(t, dir, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s = db.NewSession()
	checks := map[string]string{
		"SELECT coalesce(relacl, 'default') FROM pg_class WHERE relname = 't'":     "default",
		"SELECT relowner::regrole::text, relacl FROM pg_class WHERE relname = 'u'": "weft|{weft=arwdDxt/weft,team=a/weft}",
		"SELECT count(*) FROM pg_auth_members":                                     "0",
	}
	for q, want := range checks {
		if got := rows(t, s, q); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", q, got, want)
		}
	}
	wantCode(t, asRole(db, "bob"), "SELECT * FROM t", sqlerr.InsufficientPrivilege)
}

// TestDropOwnedFunctions: DROP OWNED drops a role's wasm functions too,
// so the role can then be dropped.
func TestDropOwnedFunctions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, t.TempDir(), mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	mustExec(t, s, "CREATE ROLE app; GRANT CREATE ON SCHEMA public TO app")
	mustExec(t, asRole(db, "app"), "CREATE FUNCTION add(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'plain.wasm', 'add' IMMUTABLE")
	wantCode(t, s, "DROP ROLE app", sqlerr.DependentObjects)
	wantCode(t, s, "BEGIN; DROP OWNED BY app", sqlerr.ActiveTransaction)
	mustExec(t, s, "ROLLBACK; DROP OWNED BY app; DROP ROLE app")
	if got := rows(t, s, "SELECT count(*) FROM pg_proc WHERE proname = 'add'"); len(got) != 1 || got[0] != "0" {
		t.Errorf("the function is still there: %v", got)
	}
}
