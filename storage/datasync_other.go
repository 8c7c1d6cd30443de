//go:build !linux

package storage

import "os"

// syncData is a full sync where fdatasync is not to hand.
func syncData(f *os.File) error { return f.Sync() }
