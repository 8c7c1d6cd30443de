package udf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFixturesMatchSources rebuilds the committed .wasm fixtures from their
// sources with the project's toolchains and requires identical bytes, so
// the committed binaries are known to come from the committed sources.
// Without the toolchains (`make tools`) there is nothing to compare against.
func TestFixturesMatchSources(t *testing.T) {
	for _, tool := range []string{"wat2wasm", "clang"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make tools): committed fixtures are used as they are", tool)
		}
	}
	dir := t.TempDir()
	builds := map[string][]string{}
	wats, _ := filepath.Glob("../testdata/udf/wat/*.wat")
	for _, w := range wats {
		name := strings.TrimSuffix(filepath.Base(w), ".wat") + ".wasm"
		builds[name] = []string{"wat2wasm", w, "-o", filepath.Join(dir, name)}
	}
	builds["c_strings.wasm"] = []string{"clang", "--target=wasm32", "-O2", "-msimd128", "-mbulk-memory", "-nostdlib", "-Wl,--no-entry", "-Wl,--export-dynamic",
		"-o", filepath.Join(dir, "c_strings.wasm"), "../examples/c/strings.c"}
	builds["c_aggregates.wasm"] = []string{"clang", "--target=wasm32", "-O2", "-msimd128", "-mbulk-memory", "-nostdlib", "-Wl,--no-entry", "-Wl,--export-dynamic",
		"-o", filepath.Join(dir, "c_aggregates.wasm"), "../examples/c/aggregates.c"}
	for name, cmd := range builds {
		out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		fresh, _ := os.ReadFile(filepath.Join(dir, name))
		committed, err := os.ReadFile(filepath.Join("../testdata/udf/wasm", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("%s differs from a fresh build of its source: run make wasm and commit", name)
		}
	}
}
