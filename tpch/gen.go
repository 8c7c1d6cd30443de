// Package tpch generates TPC-H data and holds the TPC-H schema, for the
// benchmark harness (bench/) and the correctness test against PostgreSQL.
//
// Rows come from github.com/pingcap/go-tpc's port of dbgen, so at an integer
// scale factor the data equals the official dbgen's. dbgen knows only integer
// scale factors; a fractional one (0.01 for tests, 0.1 for a quick bench) is
// generated at scale 1 with every table cut after base*sf rows and the foreign
// keys folded into the cut key ranges, so that joins stay dense (every
// lineitem's part, supplier and (part, supplier) pair exists).
package tpch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/pingcap/go-tpc/tpch/dbgen"
)

// TableNames lists the eight TPC-H tables in load order (referenced tables
// first).
var TableNames = []string{"region", "nation", "part", "supplier", "partsupp", "customer", "orders", "lineitem"}

// Base row counts at scale factor 1 (TPC-H spec 4.2.5).
const (
	basePart     = 200000
	baseSupplier = 10000
	baseCustomer = 150000
	baseOrders   = 1500000
	suppPerPart  = 4
)

// dbgen keeps its random streams and word distributions in package-level
// variables, and dbgen.InitDbGen appends to the distributions instead of
// resetting them: only the first generation in a process yields dbgen's
// data (a second one would differ). dbgenLock guards the one generation a
// process may run; dbgenUsed records that it ran.
var (
	dbgenLock sync.Mutex
	dbgenUsed bool
)

// ErrGeneratedBefore is Generate's answer to a second call in one process.
var ErrGeneratedBefore = errors.New("tpch: dbgen generates only once per process (it does not reset its distributions); generate into files and read them, or run another process")

// sizes are the row counts of the generated tables and of the tables dbgen
// generates them from (at dbgen's integer scale).
type sizes struct {
	parts, suppliers, customers, orders int64
	// dbgenSuppliers is the supplier count dbgen used when it chose each
	// part's suppliers; needed to tell which of its four suppliers a
	// lineitem picked.
	dbgenSuppliers int64
}

// dbgenScale is the integer scale dbgen runs at for sf: sf itself when it is
// an integer, 1 when sf is a fraction below 1.
func dbgenScale(sf float64) (int64, error) {
	switch {
	case !(sf > 0) || math.IsInf(sf, 0):
		return 0, fmt.Errorf("tpch: scale factor %v must be positive", sf)
	case sf == math.Trunc(sf):
		return int64(sf), nil
	case sf < 1:
		return 1, nil
	default:
		return 0, fmt.Errorf("tpch: scale factor %v: only integers or fractions below 1 are supported", sf)
	}
}

func sizesFor(sf float64, scale int64) sizes {
	rows := func(base int64) int64 {
		return max(1, int64(math.Round(float64(base)*sf)))
	}
	return sizes{
		parts:          rows(basePart),
		suppliers:      rows(baseSupplier),
		customers:      rows(baseCustomer),
		orders:         rows(baseOrders),
		dbgenSuppliers: baseSupplier * scale,
	}
}

// RowCounts returns the number of rows Generate writes per table at sf
// (lineitem's count varies with the data, so it is absent).
func RowCounts(sf float64) (map[string]int64, error) {
	scale, err := dbgenScale(sf)
	if err != nil {
		return nil, err
	}
	s := sizesFor(sf, scale)
	return map[string]int64{
		"region": 5, "nation": 25, "part": s.parts, "supplier": s.suppliers,
		"partsupp": s.parts * suppPerPart, "customer": s.customers, "orders": s.orders,
	}, nil
}

// FileName is the file Generate writes table's rows to.
func FileName(table string) string { return table + ".csv" }

// GenerateDir writes one pipe-delimited file per table into dir (created if
// missing): no header, no trailing delimiter, dates as YYYY-MM-DD, money with
// two decimals. Like Generate, once per process.
func GenerateDir(sf float64, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tpch: %w", err)
	}
	files := map[string]*os.File{}
	writers := map[string]io.Writer{}
	bufs := map[string]*bufio.Writer{}
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, t := range TableNames {
		f, err := os.Create(filepath.Join(dir, FileName(t)))
		if err != nil {
			closeAll()
			return fmt.Errorf("tpch: %w", err)
		}
		files[t] = f
		bufs[t] = bufio.NewWriterSize(f, 1<<20)
		writers[t] = bufs[t]
	}
	genErr := Generate(sf, writers)
	for _, t := range TableNames {
		if err := bufs[t].Flush(); err != nil && genErr == nil {
			genErr = fmt.Errorf("tpch: writing %s: %w", t, err)
		}
		if err := files[t].Close(); err != nil && genErr == nil {
			genErr = fmt.Errorf("tpch: closing %s: %w", t, err)
		}
	}
	return genErr
}

// Generate writes the rows of every table in TableNames to out[table], in
// the format GenerateDir describes. Every table must have a writer. A
// process can generate once (ErrGeneratedBefore after that).
func Generate(sf float64, out map[string]io.Writer) error {
	scale, err := dbgenScale(sf)
	if err != nil {
		return err
	}
	for _, t := range TableNames {
		if out[t] == nil {
			return fmt.Errorf("tpch: no writer for table %s", t)
		}
	}
	s := sizesFor(sf, scale)

	dbgenLock.Lock()
	defer dbgenLock.Unlock()
	if dbgenUsed {
		return ErrGeneratedBefore
	}
	dbgenUsed = true
	dbgen.InitDbGen(scale)
	steps := []struct {
		table  dbgen.Table
		loader *rowLoader
	}{
		{dbgen.TRegion, newRowLoader(5, regionRow(out["region"]))},
		{dbgen.TNation, newRowLoader(25, nationRow(out["nation"]))},
		{dbgen.TPartPsupp, newRowLoader(s.parts, partRow(out["part"], out["partsupp"], s))},
		{dbgen.TSupp, newRowLoader(s.suppliers, supplierRow(out["supplier"]))},
		{dbgen.TCust, newRowLoader(s.customers, customerRow(out["customer"]))},
		{dbgen.TOrderLine, newRowLoader(s.orders, orderRow(out["orders"], out["lineitem"], s))},
	}
	for _, step := range steps {
		err := dbgen.DbGen(map[dbgen.Table]dbgen.Loader{step.table: step.loader}, []dbgen.Table{step.table})
		if step.loader.writeErr != nil {
			return fmt.Errorf("tpch: %w", step.loader.writeErr)
		}
		if err != nil && !step.loader.full {
			return fmt.Errorf("tpch: %w", err)
		}
	}
	return nil
}

// errEnough stops dbgen once a table has all the rows the scale factor asks
// for (dbgen itself only knows whole multiples of the base counts).
var errEnough = errors.New("tpch: table complete")

// rowLoader adapts a row writer to dbgen.Loader, stopping after limit rows.
type rowLoader struct {
	limit, done int64
	write       func(item any, buf []byte) ([]byte, error)
	buf         []byte
	full        bool
	writeErr    error
}

func newRowLoader(limit int64, write func(item any, buf []byte) ([]byte, error)) *rowLoader {
	return &rowLoader{limit: limit, write: write}
}

func (l *rowLoader) Load(item any) error {
	if l.done >= l.limit {
		l.full = true
		return errEnough
	}
	var err error
	l.buf, err = l.write(item, l.buf[:0])
	if err != nil {
		l.writeErr = err
		return err
	}
	l.done++
	return nil
}

func (l *rowLoader) Flush() error { return nil }

// line accumulates one delimited row: fields joined by '|', ended by '\n'.
type line []byte

func (b line) str(s string) line { return append(append(b, s...), '|') }
func (b line) int(v int64) line  { return append(strconv.AppendInt(b, v, 10), '|') }
func (b line) char(c byte) line  { return append(b, c, '|') }

// money prints cents as dbgen does: optional minus, units, two decimals.
func (b line) money(cents int64) line {
	if cents < 0 {
		b = append(b, '-')
		cents = -cents
	}
	b = strconv.AppendInt(b, cents/100, 10)
	return append(b, '.', byte('0'+cents%100/10), byte('0'+cents%10), '|')
}

// end replaces the last delimiter by a newline.
func (b line) end() []byte {
	b[len(b)-1] = '\n'
	return b
}

func writeRow(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}

func regionRow(w io.Writer) func(any, []byte) ([]byte, error) {
	return func(item any, buf []byte) ([]byte, error) {
		r := item.(*dbgen.Region)
		b := line(buf).int(int64(r.Code)).str(r.Text).str(r.Comment).end()
		return b, writeRow(w, b)
	}
}

func nationRow(w io.Writer) func(any, []byte) ([]byte, error) {
	return func(item any, buf []byte) ([]byte, error) {
		n := item.(*dbgen.Nation)
		b := line(buf).int(int64(n.Code)).str(n.Text).int(int64(n.Join)).str(n.Comment).end()
		return b, writeRow(w, b)
	}
}

// partRow writes a part and its four partsupp rows; the suppliers are chosen
// again over the generated supplier count.
func partRow(parts, partsupps io.Writer, s sizes) func(any, []byte) ([]byte, error) {
	return func(item any, buf []byte) ([]byte, error) {
		p := item.(*dbgen.Part)
		b := line(buf).int(int64(p.PartKey)).str(p.Name).str(p.Mfgr).str(p.Brand).str(p.Type).
			int(int64(p.Size)).str(p.Container).money(int64(p.RetailPrice)).str(p.Comment).end()
		if err := writeRow(parts, b); err != nil {
			return b, err
		}
		for i, ps := range p.S {
			supp := supplierOfPart(int64(ps.PartKey), int64(i), s.suppliers)
			b = line(b[:0]).int(int64(ps.PartKey)).int(supp).int(int64(ps.Qty)).
				money(int64(ps.SCost)).str(ps.Comment).end()
			if err := writeRow(partsupps, b); err != nil {
				return b, err
			}
		}
		return b, nil
	}
}

func supplierRow(w io.Writer) func(any, []byte) ([]byte, error) {
	return func(item any, buf []byte) ([]byte, error) {
		s := item.(*dbgen.Supp)
		b := line(buf).int(int64(s.SuppKey)).str(s.Name).str(s.Address).int(int64(s.NationCode)).
			str(s.Phone).money(int64(s.Acctbal)).str(s.Comment).end()
		return b, writeRow(w, b)
	}
}

func customerRow(w io.Writer) func(any, []byte) ([]byte, error) {
	return func(item any, buf []byte) ([]byte, error) {
		c := item.(*dbgen.Cust)
		b := line(buf).int(int64(c.CustKey)).str(c.Name).str(c.Address).int(int64(c.NationCode)).
			str(c.Phone).money(int64(c.Acctbal)).str(c.MktSegment).str(c.Comment).end()
		return b, writeRow(w, b)
	}
}

// orderRow writes an order and its lineitems with the keys folded into the
// generated key ranges; the extended prices and the order's total follow the
// folded part keys as dbgen computes them.
func orderRow(orders, lineitems io.Writer, s sizes) func(any, []byte) ([]byte, error) {
	return func(item any, buf []byte) ([]byte, error) {
		o := item.(*dbgen.Order)
		b := buf
		var total int64
		for _, l := range o.Lines {
			partKey := foldKey(int64(l.PartKey), s.parts)
			pick := supplierPick(int64(l.PartKey), int64(l.SuppKey), s.dbgenSuppliers)
			suppKey := supplierOfPart(partKey, pick, s.suppliers)
			quantity := int64(l.Quantity)
			extended := retailPrice(partKey) * quantity
			discount, tax := int64(l.Discount), int64(l.Tax)
			total += ((extended * (100 - discount)) / 100) * (100 + tax) / 100
			b = line(b[:0]).int(int64(l.OKey)).int(partKey).int(suppKey).int(int64(l.LCnt)).
				int(quantity).money(extended).money(discount).money(tax).
				char(l.RFlag).char(l.LStatus).str(l.SDate).str(l.CDate).str(l.RDate).
				str(l.ShipInstruct).str(l.ShipMode).str(l.Comment).end()
			if err := writeRow(lineitems, b); err != nil {
				return b, err
			}
		}
		b = line(b[:0]).int(int64(o.OKey)).int(customerOfOrder(int64(o.CustKey), s.customers)).
			char(o.Status).money(total).str(o.Date).str(o.OrderPriority).str(o.Clerk).
			int(o.ShipPriority).str(o.Comment).end()
		return b, writeRow(orders, b)
	}
}

// foldKey maps a key in 1..anything into 1..n (identity when key <= n).
func foldKey(key, n int64) int64 { return (key-1)%n + 1 }

// customerOfOrder folds a customer key into 1..n and then, as dbgen does,
// moves it off multiples of 3: a third of the customers place no orders.
func customerOfOrder(key, n int64) int64 {
	c := foldKey(key, n)
	delta := int64(1)
	for c%3 == 0 {
		c = min(c+delta, n)
		delta = -delta
	}
	return c
}

// supplierOfPart is the i-th (0..3) supplier of part partKey among
// suppliers suppliers (TPC-H spec 4.2.3).
func supplierOfPart(partKey, i, suppliers int64) int64 {
	return (partKey+i*(suppliers/suppPerPart+(partKey-1)/suppliers))%suppliers + 1
}

// supplierPick tells which of its part's four suppliers (0..3) dbgen chose
// for a lineitem, so the same choice can be made over fewer suppliers.
func supplierPick(partKey, suppKey, suppliers int64) int64 {
	for i := int64(0); i < suppPerPart; i++ {
		if supplierOfPart(partKey, i, suppliers) == suppKey {
			return i
		}
	}
	// Unreachable with dbgen's data; the first supplier keeps the key valid.
	return 0
}

// retailPrice is a part's price in cents, as dbgen derives it from the key
// (TPC-H spec 4.2.3, P_RETAILPRICE).
func retailPrice(partKey int64) int64 {
	return 90000 + (partKey/10)%20001 + 100*(partKey%1000)
}
