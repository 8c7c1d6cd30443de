package cluster

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/storage"
	"google.golang.org/protobuf/proto"
)

// Cached relations (Spark's persist; docs/cluster.md): the partitions of
// a cached table are kept in the memory of the process that scanned
// them, a worker or the coordinator, as Arrow batches copied out of the
// segment files. A partition is named by its lineage: the table, the
// partition number and the content key of the segments it was read from
// (storage.Store.PartitionKeys). A write that replaces a partition's
// segments gives it another key, so the old copy is never read again
// (and is dropped when the new one is kept); a partition lost with its
// worker is read again from the segments by whichever worker runs it next.

// The cache's actions a worker answers (DoAction).
const (
	// ActionCacheList answers a CacheList of the partitions held.
	ActionCacheList = "cache_list"
	// ActionUncache drops a table's partitions (body: Uncache).
	ActionUncache = "uncache"
)

// CacheHolder is a FragmentRunner that keeps cached partitions: its
// worker answers the cache actions from it.
type CacheHolder interface {
	PartitionCache() *PartitionCache
}

// PartitionCache holds cached partitions in memory, up to a limit: a
// partition that does not fit is not kept (the query that read it uses
// its copy once), and the partitions kept stay until their table
// changes or is uncached.
type PartitionCache struct {
	mem      memory.Allocator
	maxBytes int64 // 0: no limit

	mu      sync.Mutex
	entries map[partKey]*cachedPart
	held    int64 // bytes of the entries
	closed  bool
}

type partKey struct {
	table     uint32
	partition int
}

// cachedPart is one partition held: its batches are the cache's own
// (copied, each with one reference the cache holds).
type cachedPart struct {
	name    string
	content string
	batches []arrow.Record
	rows    int64
	bytes   int64
	hits    atomic.Int64
}

// NewPartitionCache returns an empty cache whose copies are allocated
// from mem, keeping at most maxBytes of them (0 or less: no limit).
func NewPartitionCache(mem memory.Allocator, maxBytes int64) *PartitionCache {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &PartitionCache{mem: mem, maxBytes: max(maxBytes, 0), entries: map[partKey]*cachedPart{}}
}

// Read returns partition part of table (named name) with content key
// content: from memory when it is held, else copied from source (the
// partition's batches as the table's segments hold them), kept, and
// returned. The caller releases every batch returned. An empty content
// key (a partition no segment names) is never kept: the source batches
// are returned as they are.
func (c *PartitionCache) Read(table uint32, name string, part int, content string, source []arrow.Record) ([]arrow.Record, error) {
	key := partKey{table, part}
	if content == "" {
		return retainAll(source), nil
	}
	if got := c.lookup(key, content); got != nil {
		return got, nil
	}
	copies, rows, bytes, err := c.copyBatches(source)
	if err != nil {
		return nil, fmt.Errorf("caching partition %d of %s: %w", part, name, err)
	}
	entry := &cachedPart{name: name, content: content, batches: copies, rows: rows, bytes: bytes}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[key]; old != nil && old.content == content {
		// another fragment kept it meanwhile: use that one
		exec.ReleaseRecords(copies)
		old.hits.Add(1)
		return retainAll(old.batches), nil
	}
	old := c.entries[key] // (of the table before it changed)
	room := c.maxBytes - c.held
	if old != nil {
		room += old.bytes
	}
	if c.closed || (c.maxBytes > 0 && bytes > room) {
		return copies, nil // not kept: the caller's references are the only ones
	}
	if old != nil {
		exec.ReleaseRecords(old.batches)
		c.held -= old.bytes
	}
	c.entries[key] = entry
	c.held += bytes
	return retainAll(copies), nil
}

// lookup returns the held batches (retained) when key holds content.
func (c *PartitionCache) lookup(key partKey, content string) []arrow.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || e.content != content {
		return nil
	}
	e.hits.Add(1)
	return retainAll(e.batches)
}

// copyBatches copies source's batches into the cache's memory (reading
// the segments they stand for).
func (c *PartitionCache) copyBatches(source []arrow.Record) (out []arrow.Record, rows, bytes int64, err error) {
	defer func() {
		if err != nil {
			exec.ReleaseRecords(out)
			out = nil
		}
	}()
	for _, b := range source {
		if err := catalog.LoadBatch(b); err != nil {
			return out, 0, 0, err
		}
		cols := make([]arrow.Array, b.NumCols())
		for i := range cols {
			cols[i], err = array.Concatenate([]arrow.Array{b.Column(i)}, c.mem)
			if err != nil {
				releaseArrays(cols[:i])
				return out, 0, 0, err
			}
		}
		var rec arrow.Record = array.NewRecord(b.Schema(), cols, b.NumRows())
		releaseArrays(cols)
		if z, ok := b.(storage.Zoned); ok && z.Zones() != nil {
			rec = &zonedCopy{Record: rec, zones: z.Zones()}
		}
		out = append(out, rec)
		rows += rec.NumRows()
		bytes += recordBytes(rec)
	}
	return out, rows, bytes, nil
}

// zonedCopy is a cached copy of a segment that keeps the segment's zone
// maps (storage.Zoned): a scan of the cached table still skips the
// copies its conditions rule out, as it skips the segments. The copy
// holds the same rows as the segment, so its zones are the segment's.
type zonedCopy struct {
	arrow.Record
	zones []storage.Zone
}

func (z *zonedCopy) Zones() []storage.Zone { return z.zones }

func releaseArrays(cols []arrow.Array) {
	for _, a := range cols {
		if a != nil {
			a.Release()
		}
	}
}

func retainAll(recs []arrow.Record) []arrow.Record {
	out := make([]arrow.Record, len(recs))
	for i, r := range recs {
		r.Retain()
		out[i] = r
	}
	return out
}

// Drop forgets a table's partitions (the batches go when the last
// query reading them ends).
func (c *PartitionCache) Drop(table uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if k.table == table {
			exec.ReleaseRecords(e.batches)
			c.held -= e.bytes
			delete(c.entries, k)
		}
	}
}

// Close drops everything; later reads keep nothing.
func (c *PartitionCache) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		exec.ReleaseRecords(e.batches)
		delete(c.entries, k)
	}
	c.held = 0
	c.closed = true
}

// List describes the partitions held, by table and partition.
func (c *PartitionCache) List() []*clusterpb.CacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*clusterpb.CacheEntry, 0, len(c.entries))
	for k, e := range c.entries {
		out = append(out, &clusterpb.CacheEntry{Table: k.table, Name: e.name, Partition: uint32(k.partition), Content: e.content,
			Rows: e.rows, Bytes: e.bytes, Hits: e.hits.Load()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// cacheAction answers the cache actions on a worker.
func (w *Worker) cacheAction(a *flight.Action, fs flight.FlightService_DoActionServer) error {
	holder, ok := w.runner.(CacheHolder)
	if !ok {
		return statusOf(sqlerr.New(sqlerr.FeatureNotSupported, "this worker keeps no cached partitions"))
	}
	cache := holder.PartitionCache()
	var answer proto.Message
	switch a.GetType() {
	case ActionCacheList:
		answer = &clusterpb.CacheList{Entries: cache.List()}
	case ActionUncache:
		var u clusterpb.Uncache
		if err := proto.Unmarshal(a.GetBody(), &u); err != nil {
			return statusOf(sqlerr.New(sqlerr.ProtocolViolation, "uncache does not decode: %v", err))
		}
		cache.Drop(u.Table)
		answer = &clusterpb.Uncache{Table: u.Table}
	}
	body, err := proto.Marshal(answer)
	if err != nil {
		return err
	}
	return fs.Send(&flight.Result{Body: body})
}

// WorkerCache is what one live worker holds.
type WorkerCache struct {
	Address string
	Entries []*clusterpb.CacheEntry
	Err     error // the worker did not answer
}

// CacheLists asks every live worker which partitions it holds.
func (r *Registry) CacheLists(ctx context.Context) []WorkerCache {
	live := r.live()
	out := make([]WorkerCache, len(live))
	var wg sync.WaitGroup
	for i, w := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var list clusterpb.CacheList
			err := r.action(ctx, w, ActionCacheList, &clusterpb.CacheList{}, &list)
			out[i] = WorkerCache{Address: w.addr, Entries: list.Entries, Err: err}
		}()
	}
	wg.Wait()
	return out
}

// Uncache tells every live worker to drop a table's partitions. A worker
// that is down now keeps what it held, which is never read again: the
// coordinator no longer names the table as cached.
func (r *Registry) Uncache(ctx context.Context, table uint32) {
	var wg sync.WaitGroup
	for _, w := range r.live() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.action(ctx, w, ActionUncache, &clusterpb.Uncache{Table: table}, &clusterpb.Uncache{})
		}()
	}
	wg.Wait()
}

// action runs one control action on a worker and decodes its answer.
func (r *Registry) action(ctx context.Context, w *workerConn, name string, body, answer proto.Message) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	raw, err := proto.Marshal(body)
	if err != nil {
		return err
	}
	stream, err := w.client.DoAction(ctx, &flight.Action{Type: name, Body: raw})
	if err != nil {
		return err
	}
	res, err := stream.Recv()
	if err != nil {
		return err
	}
	return proto.Unmarshal(res.GetBody(), answer)
}

// PlaceFunc chooses the worker partition part of op (a node about to
// run remotely) should run on, among the live workers' addresses; ""
// leaves it to the default (part mod workers). The engine places a
// cached table's partitions where they are held.
type PlaceFunc func(op exec.Operator, part int, live []string) string

// SetPlacement installs the engine's placement of partitions.
func (r *Registry) SetPlacement(place PlaceFunc) {
	r.place.Store(&place)
}

// placeFor is the worker partition part of op is planned on.
func (d *distributor) placeFor(op exec.Operator, part int) string {
	def := d.live[part%len(d.live)].addr
	place := d.reg.place.Load()
	if place == nil || *place == nil {
		return def
	}
	addrs := make([]string, len(d.live))
	for i, w := range d.live {
		addrs[i] = w.addr
	}
	if chosen := (*place)(op, part, addrs); chosen != "" {
		for _, a := range addrs {
			if a == chosen {
				return chosen
			}
		}
	}
	return def
}

// plannedConn is the live worker a partition was planned on, nil when
// it is not live any more.
func (s *remoteStream) plannedConn(live []*workerConn) *workerConn {
	if s.part >= len(s.r.planned) {
		return nil
	}
	for _, w := range live {
		if w.addr == s.r.planned[s.part] {
			return w
		}
	}
	return nil
}
