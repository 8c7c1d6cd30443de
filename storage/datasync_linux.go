package storage

import (
	"os"
	"syscall"
)

// syncData makes f's written bytes durable without its metadata when only
// data changed (fdatasync): the log overwrites zeros it allocated before,
// so its size, and with it the file system's journal, stays out of each
// commit's sync.
func syncData(f *os.File) error {
	raw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var syncErr error
	err = raw.Control(func(fd uintptr) {
		for {
			syncErr = syscall.Fdatasync(int(fd))
			if syncErr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if syncErr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: syncErr}
	}
	return nil
}
