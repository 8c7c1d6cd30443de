package udf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFixturesMatchSources rebuilds every committed .wasm fixture whose
// toolchain is installed (`make tools`; CI installs them all) and requires
// identical bytes, so the committed binaries are known to come from the
// committed sources. A fixture whose toolchain is missing is reported and
// the committed binary is used as it is, except in CI
// (WEFT_REQUIRE_POSTGRES, set by .ci/run), where that is a failure.
func TestFixturesMatchSources(t *testing.T) {
	dir := t.TempDir()
	type build struct {
		tool string
		cmd  []string
		env  []string
	}
	clang := []string{"clang", "--target=wasm32", "-O2", "-msimd128", "-mbulk-memory", "-nostdlib", "-Wl,--no-entry", "-Wl,--export-dynamic", "-o"}
	builds := map[string]build{
		"c_strings.wasm":    {"clang", append(append([]string{}, clang...), filepath.Join(dir, "c_strings.wasm"), "examples/c/strings.c"), nil},
		"c_aggregates.wasm": {"clang", append(append([]string{}, clang...), filepath.Join(dir, "c_aggregates.wasm"), "examples/c/aggregates.c"), nil},
		"c_tables.wasm":     {"clang", append(append([]string{}, clang...), filepath.Join(dir, "c_tables.wasm"), "examples/c/tables.c"), nil},
		"go_words.wasm": {"go", []string{"go", "build", "-trimpath", "-buildmode=c-shared", "-o", filepath.Join(dir, "go_words.wasm"), "./examples/go"},
			[]string{"GOOS=wasip1", "GOARCH=wasm"}},
		"rust_text.wasm": {"/usr/bin/rustc", []string{"/usr/bin/rustc", "--target", "wasm32-unknown-unknown", "--crate-type", "cdylib", "-O", "-C", "strip=symbols",
			"-o", filepath.Join(dir, "rust_text.wasm"), "examples/rust/lib.rs"}, nil},
		"as_example.wasm": {"sdk/assemblyscript/node_modules/.bin/asc", []string{"sdk/assemblyscript/node_modules/.bin/asc", "examples/assemblyscript/example.ts",
			"-O3", "--runtime", "incremental", "-o", filepath.Join(dir, "as_example.wasm")}, nil},
	}
	wats, _ := filepath.Glob("../testdata/udf/wat/*.wat")
	for _, w := range wats {
		name := strings.TrimSuffix(filepath.Base(w), ".wat") + ".wasm"
		builds[name] = build{"wat2wasm", []string{"wat2wasm", strings.TrimPrefix(w, "../"), "-o", filepath.Join(dir, name)}, nil}
	}
	committed, _ := filepath.Glob("../testdata/udf/wasm/*.wasm")
	for _, c := range committed {
		if _, ok := builds[filepath.Base(c)]; !ok {
			t.Errorf("%s has no source build: add it here and to make wasm", filepath.Base(c))
		}
	}
	for name, b := range builds {
		t.Run(name, func(t *testing.T) {
			tool := b.tool
			if strings.HasPrefix(tool, "sdk/") {
				tool = "../" + tool
			}
			if _, err := exec.LookPath(tool); err != nil {
				if os.Getenv("WEFT_REQUIRE_POSTGRES") != "" {
					t.Fatalf("%s is not installed (make tools): CI must rebuild %s", b.tool, name)
				}
				t.Skipf("%s not installed (make tools): the committed %s is used as it is", b.tool, name)
			}
			// run from the repository root, as make wasm does: paths end up
			// in some binaries (Rust's panic locations)
			cmd := exec.Command(b.cmd[0], b.cmd[1:]...)
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), b.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			fresh, _ := os.ReadFile(filepath.Join(dir, name))
			old, err := os.ReadFile(filepath.Join("../testdata/udf/wasm", name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fresh, old) {
				t.Errorf("%s differs from a fresh build of its source: run make wasm and commit", name)
			}
		})
	}
}
