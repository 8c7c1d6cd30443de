package cluster

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec"
)

// TestPartitionCache: a partition is copied into the cache's memory
// (the source can go), read again from there, replaced when its content
// key changes, and dropped; every batch is released (checked allocators).
func TestPartitionCache(t *testing.T) {
	srcMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	cacheMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer srcMem.AssertSize(t, 0)
	defer cacheMem.AssertSize(t, 0)
	c := NewPartitionCache(cacheMem, 0)
	defer c.Close()

	read := func(part int, content string, source []arrow.Record) []int64 {
		t.Helper()
		got, err := c.Read(7, "public.t", part, content, source)
		if err != nil {
			t.Fatal(err)
		}
		defer exec.ReleaseRecords(got)
		var vals []int64
		for _, b := range got {
			for i := 0; i < int(b.NumRows()); i++ {
				vals = append(vals, exec.DatumAt(b.Column(0), i).(int64))
			}
		}
		return vals
	}
	src := partBatches(srcMem, 1)
	first := read(1, "k1", src)
	exec.ReleaseRecords(src) // the copy does not need the source
	if srcMem.CurrentAlloc() != 0 || cacheMem.CurrentAlloc() == 0 {
		t.Fatalf("the cache did not copy: source holds %d bytes, cache %d", srcMem.CurrentAlloc(), cacheMem.CurrentAlloc())
	}
	if len(first) != testBatches*testRows || first[0] != 1_000_000 {
		t.Fatalf("first read: %d values from %v", len(first), first[:1])
	}
	again := read(1, "k1", nil) // a hit reads no source
	if len(again) != len(first) || again[len(again)-1] != first[len(first)-1] {
		t.Fatalf("second read differs: %d values", len(again))
	}
	if l := c.List(); len(l) != 1 || l[0].Hits != 1 || l[0].Rows != testBatches*testRows || l[0].Bytes <= 0 || l[0].Partition != 1 {
		t.Fatalf("list after a hit: %v", l)
	}

	// the table changed: another content key reads the new source
	src = partBatches(srcMem, 2)
	changed := read(1, "k2", src)
	exec.ReleaseRecords(src)
	if changed[0] != 2_000_000 {
		t.Fatalf("a new content key read %d, want the new rows", changed[0])
	}
	if l := c.List(); len(l) != 1 || l[0].Content != "k2" || l[0].Hits != 0 {
		t.Fatalf("list after the change: %v", l)
	}

	// no content key: the source as it is, nothing kept
	src = partBatches(srcMem, 3)
	if got := read(3, "", src); got[0] != 3_000_000 || len(c.List()) != 1 {
		t.Fatalf("an unnamed partition was kept or misread: %v", c.List())
	}
	exec.ReleaseRecords(src)

	c.Drop(7)
	if len(c.List()) != 0 || cacheMem.CurrentAlloc() != 0 {
		t.Fatalf("after Drop: %v, %d bytes held", c.List(), cacheMem.CurrentAlloc())
	}
}

// TestPartitionCacheLimit: a partition that does not fit the limit is
// read (the caller gets a copy) but not kept; a changed partition may
// take its old copy's room.
func TestPartitionCacheLimit(t *testing.T) {
	srcMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	cacheMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer srcMem.AssertSize(t, 0)
	defer cacheMem.AssertSize(t, 0)
	src := partBatches(srcMem, 0)
	defer exec.ReleaseRecords(src)
	probe := NewPartitionCache(cacheMem, 0)
	got, err := probe.Read(1, "t", 0, "k", src)
	if err != nil {
		t.Fatal(err)
	}
	exec.ReleaseRecords(got)
	one := probe.List()[0].Bytes
	probe.Close()

	c := NewPartitionCache(cacheMem, one+one/2) // room for one partition
	defer c.Close()
	for part, content := range []string{"a", "b"} {
		got, err := c.Read(1, "t", part, content, src)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != testBatches || got[0].NumRows() != testRows {
			t.Fatalf("partition %d read %d batches", part, len(got))
		}
		exec.ReleaseRecords(got)
	}
	if l := c.List(); len(l) != 1 || l[0].Partition != 0 {
		t.Fatalf("with room for one partition the cache keeps %v", l)
	}
	got, err = c.Read(1, "t", 0, "a2", src) // partition 0 changed: replaces its copy
	if err != nil {
		t.Fatal(err)
	}
	exec.ReleaseRecords(got)
	if l := c.List(); len(l) != 1 || l[0].Content != "a2" {
		t.Fatalf("a changed partition did not take its old copy's room: %v", l)
	}
}
