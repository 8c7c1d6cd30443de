package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/weftdb/weft/cluster"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
)

// File scans (read_csv, read_parquet, read_arrow, read_json over one
// file or a glob) run on workers like table scans: one partition per
// file, partition p on the p mod W-th worker (cluster/distribute.go).
// A worker reads the files where its coordinator does (a shared
// directory, --files-dir on both). Files are not immutable as segments
// are, so a fragment also names the files its scans read by path, size
// and modification time (Fragment.files): a worker that sees other
// files, or none, refuses the fragment as a replan and the coordinator
// reads that file itself.

// stampFileScans sets the files of every Remote node over file scans.
func stampFileScans(op exec.Operator) {
	if in, ok := op.(*exec.Instrumented); ok {
		op = in.Inner
	}
	if r, ok := op.(*cluster.Remote); ok {
		r.Fragment.Files = fileIdentity(r.Local)
		return
	}
	for _, c := range op.Children() {
		stampFileScans(c)
	}
}

// checkFragmentFiles refuses a fragment whose file scans would read
// other files than the coordinator planned.
func checkFragmentFiles(node exec.Operator, f *clusterpb.Fragment) error {
	if got := fileIdentity(node); got != f.Files {
		return &cluster.ReplanError{Reason: "the worker sees other files than the coordinator (path, size or modification time)"}
	}
	return nil
}

// fileIdentity is the sha256 of the files op's file scans read, in plan
// order; "" when it reads none.
func fileIdentity(op exec.Operator) string {
	var scans []*exec.FileScan
	collectFileScans(op, &scans)
	if len(scans) == 0 {
		return ""
	}
	h := sha256.New()
	var num [8]byte
	for _, fs := range scans {
		fmt.Fprintf(h, "%s\x00%d\x00", fs.Source.Format, len(fs.Source.Paths))
		for _, path := range fs.Source.Paths {
			h.Write([]byte(path))
			h.Write([]byte{0})
			info, err := os.Stat(path)
			if err != nil {
				h.Write([]byte("unreadable"))
				continue
			}
			binary.LittleEndian.PutUint64(num[:], uint64(info.Size()))
			h.Write(num[:])
			binary.LittleEndian.PutUint64(num[:], uint64(info.ModTime().UnixNano()))
			h.Write(num[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func collectFileScans(op exec.Operator, out *[]*exec.FileScan) {
	if in, ok := op.(*exec.Instrumented); ok {
		op = in.Inner
	}
	if fs, ok := op.(*exec.FileScan); ok {
		*out = append(*out, fs)
	}
	for _, c := range op.Children() {
		collectFileScans(c, out)
	}
}
