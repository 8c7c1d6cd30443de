package engine_test

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// TestColumnPrivilegesSurviveRestart: column grants are stored with
// their table, follow a renamed column, go with a dropped one, and a
// rolled-back grant leaves nothing behind, across a restart.
func TestColumnPrivilegesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, dir, mem)
	admin := db.NewSession()
	mustExec(t, admin, `CREATE ROLE bob LOGIN;
		CREATE TABLE staff (id int, name text, salary int, gone text);
		INSERT INTO staff VALUES (1, 'ann', 100, 'g'), (2, NULL, 200, NULL);
		GRANT SELECT (id, name), UPDATE (salary) ON staff TO bob;
		GRANT SELECT (gone) ON staff TO bob;
		ALTER TABLE staff RENAME COLUMN name TO full_name;
		ALTER TABLE staff DROP COLUMN gone`)
	for _, stmt := range []string{"BEGIN", "GRANT SELECT (salary) ON staff TO bob", "ROLLBACK"} {
		mustExec(t, admin, stmt)
	}
	db.Close()

	db = openDir(t, dir, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	got := rows(t, s, "SELECT attname, coalesce(attacl, 'NULL') FROM pg_attribute WHERE attrelid = 'staff'::regclass ORDER BY attnum")
	want := []string{"id|{bob=r/weft}", "full_name|{bob=r/weft}", "salary|{bob=w/weft}"}
	if len(got) != len(want) {
		t.Fatalf("column ACLs after restart %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column ACL %d = %s, want %s", i, got[i], want[i])
		}
	}
	mustExec(t, s, "ALTER TABLE staff ADD COLUMN gone text")
	bob := asRole(db, "bob")
	if got := rows(t, bob, "SELECT id, full_name FROM staff ORDER BY id"); len(got) != 2 || got[0] != "1|ann" || got[1] != "2|NULL" {
		t.Errorf("bob reads %v", got)
	}
	mustExec(t, bob, "UPDATE staff SET salary = 1 WHERE id = 1")
	wantCode(t, bob, "SELECT salary FROM staff", sqlerr.InsufficientPrivilege)
	wantCode(t, bob, "SELECT gone FROM staff", sqlerr.InsufficientPrivilege)
	wantCode(t, bob, "SELECT * FROM staff", sqlerr.InsufficientPrivilege)
	wantCode(t, bob, "UPDATE staff SET full_name = 'x'", sqlerr.InsufficientPrivilege)
	wantCode(t, s, "DROP ROLE bob", sqlerr.DependentObjects)
}

// TestColumnGrantRollbackKeepsOtherSessionsWork: a ROLLBACK of a column
// GRANT puts back only the ACLs it changed; a REVOKE or ADD COLUMN
// another session committed meanwhile stays (the whole column list was
// restored before, bringing a revoked privilege back). REASSIGN OWNED
// rolled back puts the column grants back under their owner.
func TestColumnGrantRollbackKeepsOtherSessionsWork(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, t.TempDir(), mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	a, b := db.NewSession(), db.NewSession()
	mustExec(t, a, `CREATE ROLE u; CREATE ROLE x; CREATE ROLE y;
		CREATE TABLE cc (id int, a int, secret int); INSERT INTO cc VALUES (1, 2, 42);
		GRANT SELECT (secret) ON cc TO u`)
	mustExec(t, a, "BEGIN")
	mustExec(t, a, "GRANT SELECT (a) ON cc TO u")
	mustExec(t, b, "REVOKE SELECT (secret) ON cc FROM u")
	mustExec(t, b, "ALTER TABLE cc ADD COLUMN z int DEFAULT 7")
	mustExec(t, a, "ROLLBACK")
	got := rows(t, a, "SELECT attname, coalesce(attacl, 'NULL') FROM pg_attribute WHERE attrelid = 'cc'::regclass ORDER BY attnum")
	want := []string{"id|NULL", "a|NULL", "secret|NULL", "z|NULL"}
	if len(got) != len(want) {
		t.Fatalf("after the rollback %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d: %s, want %s", i, got[i], want[i])
		}
	}
	wantCode(t, asRole(db, "u"), "SELECT secret FROM cc", sqlerr.InsufficientPrivilege)

	mustExec(t, a, "CREATE TABLE owned (id int, a int); ALTER TABLE owned OWNER TO x")
	mustExec(t, asRole(db, "x"), "GRANT SELECT (a) ON owned TO u")
	for _, stmt := range []string{"BEGIN", "REASSIGN OWNED BY x TO y", "ROLLBACK"} {
		mustExec(t, a, stmt)
	}
	if got := rows(t, a, "SELECT attacl FROM pg_attribute WHERE attrelid = 'owned'::regclass AND attname = 'a'"); len(got) != 1 || got[0] != "{u=r/x}" {
		t.Errorf("after REASSIGN OWNED rolled back: %v, want {u=r/x}", got)
	}
	mustExec(t, asRole(db, "x"), "REVOKE SELECT (a) ON owned FROM u")
	wantCode(t, asRole(db, "u"), "SELECT a FROM owned", sqlerr.InsufficientPrivilege)
}
