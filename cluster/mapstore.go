package cluster

import (
	"context"
	"errors"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/exec/spill"
)

// Where a worker keeps its map outputs: in memory while they fit the
// worker's budget for them (WorkerOptions.MapMemory), and past it in
// spill files, one Arrow IPC stream per bucket under the worker's spill
// directory (WorkerOptions.Spill), read back when a reduce task asks for
// the bucket. A map output is the same rows in the same order either
// way, so a reduce task that loses a peer mid-bucket and skips what it
// read gets the same rows from a copy kept elsewhere in another form.

// DefaultMapMemory is the bytes of map outputs a worker keeps in memory
// before it writes further ones to its spill directory.
const DefaultMapMemory = 256 << 20

// mapOutput collects one map partition's buckets as they are computed:
// in memory while the worker's map outputs fit its budget, then in one
// spill file per bucket (the buckets held so far written out first).
type mapOutput struct {
	store  *mapCache
	schema *arrow.Schema
	mem    memory.Allocator
	recs   [][]arrow.Record // by bucket, while in memory
	bytes  int64            // what recs hold, counted in store.memBytes
	// once spilled: the output's own directory, a writer per bucket
	// while computing, then the finished files (nil: an empty bucket)
	space   *spill.Query
	writers []*spill.Writer
	files   []*spill.File
}

func (c *mapCache) newOutput(schema *arrow.Schema, buckets int, mem memory.Allocator) *mapOutput {
	return &mapOutput{store: c, schema: schema, mem: mem, recs: make([][]arrow.Record, buckets)}
}

// spilled says whether the output lives in files.
func (o *mapOutput) spilled() bool { return o.space != nil }

// add takes rec, rows of bucket b; past the worker's budget the output
// moves to files.
func (o *mapOutput) add(b int, rec arrow.Record) error {
	if o.spilled() {
		err := o.write(b, rec)
		rec.Release()
		return err
	}
	n := recordBytes(rec)
	o.recs[b] = append(o.recs[b], rec)
	o.bytes += n
	if o.store.memBytes.Add(n) > o.store.budget && o.store.root != nil {
		return o.spill()
	}
	return nil
}

// spill writes the buckets held so far to files and lets them go.
func (o *mapOutput) spill() error {
	o.space = o.store.root.NewQuery()
	o.writers = make([]*spill.Writer, len(o.recs))
	for b, recs := range o.recs {
		for _, rec := range recs {
			if err := o.write(b, rec); err != nil {
				return err
			}
		}
	}
	o.releaseMemory()
	return nil
}

// write appends rec to bucket b's file, started on its first rows.
func (o *mapOutput) write(b int, rec arrow.Record) error {
	if o.writers[b] == nil {
		w, err := o.space.NewWriterBuffered(o.schema, o.mem, spill.PartitionBufferSize)
		if err != nil {
			return err
		}
		o.writers[b] = w
	}
	return o.writers[b].Write(rec)
}

// finish ends a spilled output's files.
func (o *mapOutput) finish() error {
	if !o.spilled() {
		return nil
	}
	o.files = make([]*spill.File, len(o.writers))
	for b, w := range o.writers {
		if w == nil {
			continue
		}
		o.writers[b] = nil
		f, err := w.Finish()
		if err != nil {
			return err
		}
		o.files[b] = f
	}
	o.writers = nil
	o.store.spilledOutputs.Add(1)
	return nil
}

func (o *mapOutput) releaseMemory() {
	for b, recs := range o.recs {
		exec.ReleaseRecords(recs)
		o.recs[b] = nil
	}
	o.store.memBytes.Add(-o.bytes)
	o.bytes = 0
}

// drop lets go of the output: its memory, its files and their directory.
func (o *mapOutput) drop() {
	o.releaseMemory()
	for _, w := range o.writers {
		if w != nil {
			w.Abandon()
		}
	}
	o.writers, o.files = nil, nil
	if o.space != nil {
		o.space.Remove()
	}
}

// bucket streams bucket b: its records retained for the stream, or its
// file through a descriptor of the stream's own (a release meanwhile
// frees nothing under it). The cache's lock is held: the output is not
// dropped while the stream starts.
func (o *mapOutput) bucket(b int, mem memory.Allocator) (exec.Stream, error) {
	if o.files == nil {
		var recs []arrow.Record
		if b < len(o.recs) {
			recs = append(recs, o.recs[b]...)
		}
		for _, r := range recs {
			r.Retain()
		}
		return &recordsStream{recs: recs}, nil
	}
	if b >= len(o.files) || o.files[b] == nil {
		return &recordsStream{}, nil
	}
	r, err := o.files[b].OpenShared(mem)
	if err != nil {
		return nil, unreadable(err)
	}
	return &spillStream{r: r}, nil
}

// unreadable is a spilled bucket this worker cannot read back: the
// reduce task asking for it gets it from another peer or computes it
// itself from its lineage, as from a lost worker.
func unreadable(err error) error {
	return &ReplanError{Reason: "reading a spilled map output: " + err.Error()}
}

// spillStream streams a spilled bucket's batches.
type spillStream struct{ r *spill.Reader }

func (s *spillStream) Next(context.Context) (arrow.Record, error) {
	rec, err := s.r.Next()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, unreadable(err)
	}
	return rec, nil
}

func (s *spillStream) Close() { s.r.Close() }
