package datafile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
)

// TestInsideDirFollowsLinks: every path is judged by where its links
// lead, existing or not yet.
func TestInsideDirFollowsLinks(t *testing.T) {
	base := t.TempDir()
	files, outsideDir := filepath.Join(base, "files"), filepath.Join(base, "outside")
	for _, d := range []string{files, outsideDir, filepath.Join(files, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range [][2]string{
		{outsideDir, "link_out"},              // a directory outside
		{"sub", "link_in"},                    // a directory inside
		{"../outside", "rel_out"},             // relative, leading out
		{filepath.Join(base, "gone"), "dead"}, // dangling, outside
		{"sub/new.csv", "dead_in"},            // dangling, inside
	} {
		if err := os.Symlink(l[0], filepath.Join(files, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		rel  string
		code string // "" for a path inside
	}{
		{"a.csv", ""},
		{"sub/a.csv", ""},
		{"link_in/a.csv", ""},
		{"dead_in", ""},
		{"new_dir/new.csv", ""},
		{"link_out/shadow", sqlerr.InsufficientPrivilege},
		{"link_out/new/new.csv", sqlerr.InsufficientPrivilege},
		{"rel_out/x", sqlerr.InsufficientPrivilege},
		{"dead", sqlerr.InsufficientPrivilege},
		{"../x", sqlerr.InsufficientPrivilege},
		{"/etc/passwd", sqlerr.InsufficientPrivilege},
	}
	for _, c := range cases {
		_, err := InsideDir(files, c.rel)
		var se *sqlerr.Error
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %v", c.rel, err)
		case c.code != "" && (!errors.As(err, &se) || se.Code != c.code):
			t.Errorf("%s: want %s, got %v", c.rel, c.code, err)
		}
	}
	// a glob through a link that leads out matches nothing it may read
	if err := os.WriteFile(filepath.Join(outsideDir, "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(files, "link_out/*"); sqlerr.Code(err) != sqlerr.InsufficientPrivilege {
		t.Errorf("glob through link_out: %v", err)
	}
}
