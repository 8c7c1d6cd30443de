package exec

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/pgsource"
)

// RemoteScan reads a PostgreSQL table or query, one partition per page
// range of the remote table.
type RemoteScan struct {
	Env  *Env
	Scan *pgsource.Scan
	Out  *arrow.Schema
}

func (r *RemoteScan) Schema() *arrow.Schema { return r.Out }
func (r *RemoteScan) Partitions() int       { return r.Scan.Partitions() }
func (r *RemoteScan) Children() []Operator  { return nil }
func (r *RemoteScan) Explain() string {
	s := fmt.Sprintf("RemoteScan postgres %s (ranges: %d)", r.Scan.Src.Label, r.Scan.Partitions())
	if len(r.Scan.Filters) > 0 {
		s += " remote filter: " + strings.Join(r.Scan.Filters, " AND ")
	}
	return s
}

func (r *RemoteScan) Open(ctx context.Context, part int) (Stream, error) {
	rd, err := r.Scan.Open(ctx, r.Env.Mem, r.Out, part, r.Env.BatchSize)
	if err != nil {
		return nil, err
	}
	return &funcStream{next: rd.Next, close: rd.Close}, nil
}
