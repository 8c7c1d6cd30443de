package exec

import (
	"fmt"

	"github.com/weftdb/weft/sql/sqlerr"
)

// PostgreSQL allocates no value larger than MaxAllocSize (1 GB - 1), a
// 4-byte header included: that bounds every text, bytea and array value.
// Weft's string builders check the same bound before building, so a
// runaway repeat() or string_agg fails with PostgreSQL's error instead of
// holding gigabytes.
const (
	maxAllocSize = 1<<30 - 1
	varHeader    = 4
)

// checkRequestedLength is repeat/lpad/rpad's check of a result of n bytes.
func checkRequestedLength(n int) error {
	if n < 0 || n > maxAllocSize-varHeader {
		return sqlerr.New(sqlerr.ProgramLimitExceeded, "requested length too large")
	}
	return nil
}

// stringBuffer follows the length of a string being built the way
// PostgreSQL's StringInfo does (concat, concat_ws, string_agg).
type stringBuffer struct{ len int }

// grow accounts for appending n bytes, failing like enlargeStringInfo.
func (b *stringBuffer) grow(n int) error {
	if n >= maxAllocSize-b.len {
		return sqlerr.New(sqlerr.ProgramLimitExceeded, "out of memory").
			WithDetail(fmt.Sprintf("Cannot enlarge string buffer containing %d bytes by %d more bytes.", b.len, n))
	}
	b.len += n
	return nil
}

// checkConcatLength is text || text's check: PostgreSQL's palloc refuses
// the result with an internal error.
func checkConcatLength(a, b int) error {
	if size := a + b + varHeader; size > maxAllocSize {
		return sqlerr.New(sqlerr.Internal, "invalid memory alloc request size %d", size)
	}
	return nil
}

// arrayBytes follows the size of an array being built (array_agg).
type arrayBytes struct{ size int }

// add accounts for one element of n bytes.
func (a *arrayBytes) add(n int) error {
	a.size += n + varHeader
	if a.size > maxAllocSize {
		return sqlerr.New(sqlerr.ProgramLimitExceeded, "array size exceeds the maximum allowed (%d)", maxAllocSize)
	}
	return nil
}
