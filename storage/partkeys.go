package storage

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/apache/arrow-go/v18/arrow"
)

// PartitionKeys names what each partition of parts holds by the segment
// files its batches are read from (name, checksum, rows). Segment files
// are immutable, so the same key means the same rows in the same order,
// whichever process computes it: a coordinator and a worker reading the
// same catalog agree, and a partition whose batches a write replaced
// gets another key. A partition with a batch no segment holds (rows
// only the write-ahead log or a transaction block has) gets "": its
// content has no stable name. Cached relations (cluster.PartitionCache)
// are keyed by it.
func (st *Store) PartitionKeys(parts [][]arrow.Record) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	keys := make([]string, len(parts))
	for p, batches := range parts {
		keys[p] = st.partitionKey(batches)
	}
	return keys
}

// partitionKey is one partition's key (the caller holds st.mu).
func (st *Store) partitionKey(batches []arrow.Record) string {
	h := sha256.New()
	var num [8]byte
	// the sequence of segments, not of batches: a batch this process
	// wrote may be several segment files, each a batch of its own to a
	// process that reads them
	for _, b := range batches {
		refs, ok := st.segments[b]
		if !ok || len(refs) == 0 {
			return ""
		}
		for _, r := range refs {
			h.Write([]byte(r.File))
			h.Write([]byte{0})
			binary.LittleEndian.PutUint64(num[:], uint64(r.CRC))
			h.Write(num[:])
			binary.LittleEndian.PutUint64(num[:], uint64(r.Rows))
			h.Write(num[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
