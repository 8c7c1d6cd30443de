package weft_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/weftdb/weft"

// layers orders the module's packages from the bottom up (docs/architecture.md
// describes each): a package may import only packages listed before it.
// A prefix ending in "/" stands for the packages under it, which may
// import each other. A new package must be placed here.
var layers = []string{
	"sql/sqlerr",
	"sql/types",
	"sql/scram",
	"sql/pgsettings",
	"sql/parser/",
	"sql/parser",
	"copyfmt",
	"pgsource/pgtest",
	"pgsource",
	"datafile",
	"tpch",
	"index",
	"udf",
	"catalog",
	"storage",
	"exec/spill",
	"exec",
	"cluster/",
	"cluster",
	"planner/",
	"engine/plpgsql",
	"engine",
	"pgwire",
	"", // the root package: the embedding API
	"driver",
	"sqllogictest",
	"difftest",
	"examples/",
	"cmd/",
}

// rank is a package's place in layers and the layer entry that placed it.
func rank(pkg string) (int, string, bool) {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	for i, l := range layers {
		if rel == l || (strings.HasSuffix(l, "/") && strings.HasPrefix(rel, l)) {
			return i, l, true
		}
	}
	return 0, "", false
}

// TestImportsRunDownTheLayers fails on an import that runs back up the
// layers (cmd → pgwire → engine → planner → exec → storage, catalog, udf
// → sql): the seams later work (spilling, distributed workers) builds on.
func TestImportsRunDownTheLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		from, fromLayer, ok := rank(p.ImportPath)
		if !ok {
			t.Errorf("package %s has no place in the layers of architecture_test.go (and docs/architecture.md)", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to, toLayer, ok := rank(imp)
			if !ok {
				continue // reported as a package of its own
			}
			checked++
			sameGroup := fromLayer == toLayer && strings.HasSuffix(fromLayer, "/")
			if to >= from && !sameGroup {
				t.Errorf("%s imports %s, which is not below it", p.ImportPath, imp)
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d imports checked: go list did not list the module", checked)
	}
}
