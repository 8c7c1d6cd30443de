package engine

// The write-ahead log's byte layout as package storage writes it
// (storage/wal.go): these tests write and damage logs byte by byte, so
// they state the format they expect rather than borrow the writer's
// constants.
const (
	walHeaderSize   = 24 // "WEFTWAL2", generation, checksum, padding
	walMagicV1      = "WEFTWAL1"
	walHeaderSizeV1 = 16 // "WEFTWAL1", generation
)
