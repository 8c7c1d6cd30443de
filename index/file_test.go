package index

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

var errTestDamage = errors.New("damaged")

func testDamage(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errTestDamage}, args...)...)
}

// countingReader counts the reads an index file's nodes take.
type countingReader struct {
	b     []byte
	reads int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	return bytes.NewReader(c.b).ReadAt(p, off)
}

func writeTestFile(t *testing.T, tree *Tree, move func(Loc) Loc) ([]byte, FileInfo) {
	t.Helper()
	var buf bytes.Buffer
	info, err := WriteFile(&buf, tree, move)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(buf.Len()) || info.Entries != int64(tree.Len()) {
		t.Fatalf("info %+v for %d bytes, %d entries", info, buf.Len(), tree.Len())
	}
	return buf.Bytes(), info
}

func sameLoc(l Loc) Loc { return l }

// TestFileRoundTrip: trees of every height (none, one leaf, several
// levels), with keys sharing prefixes, read back from their files hold
// the same entries, answer seeks both ways the same, and a lookup reads
// one node per level.
func TestFileRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 63, 64, 65, 4096, 300_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var es []Entry
			for i := 0; i < n; i++ {
				es = append(es, Entry{Key: key(rng.IntN(n/2 + 1)), Loc: Loc(i)})
			}
			tree := Build(es)
			raw, info := writeTestFile(t, tree, sameLoc)
			r := &countingReader{b: raw}
			f, err := openReader(r, "test", info, testDamage)
			if err != nil {
				t.Fatal(err)
			}
			back := f.Tree()
			if back.Len() != tree.Len() || back.Source() != f {
				t.Fatalf("len %d (source %v), want %d", back.Len(), back.Source() != nil, tree.Len())
			}
			if n > 0 {
				r.reads = 0
				probe := key(rng.IntN(n/2 + 1))
				if got, want := back.CountKey(probe, 1<<20), tree.CountKey(probe, 1<<20); got != want {
					t.Errorf("count of a key: %d, want %d", got, want)
				}
				if height := treeHeight(tree); r.reads > 2*(height+2) { // (equal keys may run into the next leaf)
					t.Errorf("a lookup took %d reads in a tree of height %d", r.reads, height)
				}
			}
			if !slices.Equal(collect(back, "", ""), collect(tree, "", "")) {
				t.Fatal("entries differ")
			}
			for range 20 {
				hi := key(rng.IntN(n/2 + 2))
				got, want := reverse(back.SeekBefore(hi)), reverse(tree.SeekBefore(hi))
				if !slices.Equal(got, want) {
					t.Fatalf("descending below %x: %d entries, want %d", hi, len(got), len(want))
				}
			}
		})
	}
}

func treeHeight(t *Tree) int {
	h := 0
	for n := t.root; n != nil && !n.get().leaf(); n = n.get().kids[0] {
		h++
	}
	return h
}

func reverse(it *ReverseIterator) []Entry {
	var out []Entry
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		out = append(out, e)
	}
	return out
}

// TestFileTreeChanges: changes to a tree read from a file read only the
// nodes they touch, leave the file's tree as it was, and match the same
// changes made to the tree in memory; the changed tree no longer counts
// as the file's.
func TestFileTreeChanges(t *testing.T) {
	var es []Entry
	for i := 0; i < 100_000; i++ {
		es = append(es, Entry{Key: key(i), Loc: Loc(i)})
	}
	tree := Build(slices.Clone(es))
	raw, info := writeTestFile(t, tree, sameLoc)
	r := &countingReader{b: raw}
	f, err := openReader(r, "test", info, testDamage)
	if err != nil {
		t.Fatal(err)
	}
	fromFile := f.Tree()
	del := []Entry{es[10], es[50_000]}
	ins := []Entry{{Key: key(200_000), Loc: 7}, {Key: key(50_000), Loc: 1 << 40}}
	r.reads = 0
	changed := fromFile.With(del, ins)
	if r.reads > 2*3*4 {
		t.Errorf("a change of four entries read %d times", r.reads)
	}
	if changed.Source() != nil || fromFile.Source() != f {
		t.Error("a changed tree still counts as the file's, or the file's tree changed")
	}
	want := tree.With(del, ins)
	if !slices.Equal(collect(changed, "", ""), collect(want, "", "")) {
		t.Error("changed tree differs from the same change in memory")
	}
	if !slices.Equal(collect(fromFile, "", ""), es) {
		t.Error("the file's tree changed")
	}
	// a large change is merged into a new tree (derive.go)
	ix := &Index{Tree: fromFile}
	bulk := ix.Apply(Diff{Del: es[:60_000]})
	if bulk.Tree.Len() != 40_000 || bulk.Tree.Damaged() {
		t.Errorf("bulk change left %d entries", bulk.Tree.Len())
	}
}

// TestFileMovesLocators: the writer stores each locator as move gives it.
func TestFileMovesLocators(t *testing.T) {
	var es []Entry
	for i := 0; i < 1000; i++ {
		es = append(es, Entry{Key: key(i % 10), Loc: MakeLoc(0, i/100, i%100)})
	}
	tree := Build(es)
	// batches of 100 rows become segments of 50
	move := func(l Loc) Loc { return MakeLoc(0, l.Batch()*2+l.Row()/50, l.Row()%50) }
	raw, info := writeTestFile(t, tree, move)
	f, err := openReader(&countingReader{b: raw}, "test", info, testDamage)
	if err != nil {
		t.Fatal(err)
	}
	var want []Entry
	tree.Ascend("", "", func(e Entry) bool { want = append(want, Entry{Key: e.Key, Loc: move(e.Loc)}); return true })
	if got := collect(f.Tree(), "", ""); !slices.Equal(got, want) {
		t.Errorf("got %d entries, first %v, want first %v", len(got), got[0], want[0])
	}
}

// TestFileDamage: a file that does not match the catalog's record is
// refused at open; a damaged node is found when a walk reaches it (a
// panic with the damage error), and marks the file damaged; the nodes
// that are sound still read.
func TestFileDamage(t *testing.T) {
	var es []Entry
	for i := 0; i < 10_000; i++ {
		es = append(es, Entry{Key: key(i), Loc: Loc(i)})
	}
	raw, info := writeTestFile(t, Build(es), sameLoc)
	cases := []struct {
		name string
		info FileInfo
		edit func([]byte) []byte
	}{
		{"size", FileInfo{Size: info.Size - 1, CRC: info.CRC, Entries: info.Entries}, func(b []byte) []byte { return b[:len(b)-1] }},
		{"footer", info, func(b []byte) []byte { b[len(b)-footerSize] ^= 1; return b }},
		{"header", info, func(b []byte) []byte { b[0] = 'X'; return b }},
		{"other file", FileInfo{Size: info.Size, CRC: info.CRC + 1, Entries: info.Entries}, func(b []byte) []byte { return b }},
		{"entries", FileInfo{Size: info.Size, CRC: info.CRC, Entries: info.Entries + 1}, func(b []byte) []byte { return b }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.edit(slices.Clone(raw))
			if _, err := openReader(&countingReader{b: b}, "test", c.info, testDamage); !errors.Is(err, errTestDamage) {
				t.Errorf("open: %v, want damage", err)
			}
		})
	}
	// a byte inside the first leaf (just after the header)
	b := slices.Clone(raw)
	b[len(fileMagic)+12] ^= 0x40
	f, err := openReader(&countingReader{b: b}, "test", info, testDamage)
	if err != nil {
		t.Fatal(err)
	}
	tree := f.Tree()
	if !tree.HasKey(key(9_999)) {
		t.Error("a sound leaf did not read")
	}
	if tree.Damaged() {
		t.Error("damaged before the damaged node was read")
	}
	for range 2 {
		func() {
			defer func() {
				if err, ok := recover().(error); !ok || !errors.Is(err, errTestDamage) {
					t.Errorf("reading the damaged leaf: %v, want damage", err)
				}
			}()
			tree.HasKey(key(0))
		}()
	}
	if !tree.Damaged() || !tree.With(nil, []Entry{{Key: key(20_000)}}).Damaged() {
		t.Error("the file is not marked damaged")
	}
}
