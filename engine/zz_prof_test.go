package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/weftdb/weft/tpch"
)

func TestZZProfCopy(t *testing.T) {
	if os.Getenv("WEFT_PROF_COPY") == "" {
		t.Skip()
	}
	dir := t.TempDir()
	db, err := Open(Options{DataDir: filepath.Join(dir, "d"), FilesDir: "/tmp/loadprof", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := db.NewSession()
	mustSQL(t, s, tpch.SchemaFor("lineitem"))
	mustSQL(t, s, "COPY lineitem FROM 'li1m.csv' (FORMAT csv, DELIMITER '|')")
}
