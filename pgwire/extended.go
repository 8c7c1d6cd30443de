package pgwire

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

func (c *conn) parse(m *pgproto3.Parse) error {
	declared := make([]types.T, len(m.ParameterOIDs))
	for i, oid := range m.ParameterOIDs {
		t, ok := typeForOID(oid)
		if !ok {
			t, ok = c.sess.TypeForOID(oid)
		}
		if !ok {
			return sqlerr.New(sqlerr.FeatureNotSupported, "parameter $%d has type OID %d, which Weft does not support", i+1, oid)
		}
		declared[i] = t
	}
	// the session keeps statements by name: SQL's EXECUTE and DEALLOCATE
	// see the protocol's, as in PostgreSQL
	err := c.run(func(ctx context.Context) error {
		_, err := c.sess.PrepareNamed(ctx, m.Name, m.Query, declared)
		return err
	})
	if err != nil {
		return err
	}
	c.backend.Send(&pgproto3.ParseComplete{})
	return nil
}

// statement finds a prepared statement by name, with its parameters' OIDs.
func (c *conn) statement(name string) (*statement, error) {
	prep, ok := c.sess.NamedPrepared(name)
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidStatementName, "prepared statement \"%s\" does not exist", name)
	}
	st := &statement{prep: prep}
	for _, t := range prep.ParamTypes {
		st.oids = append(st.oids, t.OID())
	}
	return st, nil
}

func (c *conn) bind(m *pgproto3.Bind) error {
	st, err := c.statement(m.PreparedStatement)
	if err != nil {
		return err
	}
	pt := st.prep.ParamTypes
	if len(m.Parameters) != len(pt) {
		return sqlerr.New(sqlerr.ProtocolViolation, "bind message supplies %d parameters, but prepared statement \"%s\" requires %d", len(m.Parameters), m.PreparedStatement, len(pt))
	}
	params := make([]types.Datum, len(pt))
	for i, raw := range m.Parameters {
		d, err := decodeParam(pt[i], formatOf(m.ParameterFormatCodes, i), raw, c.sess.TimeZone())
		if err != nil {
			return err
		}
		params[i] = d
	}
	for i, col := range st.prep.Columns {
		if formatOf(m.ResultFormatCodes, i) == 1 && !canBinary(col.Type) {
			return sqlerr.New(sqlerr.FeatureNotSupported, "binary format for result column %s of type %s is not supported", col.Name, col.Type)
		}
	}
	c.closePortal(m.DestinationPortal)
	// pgproto3 reuses message buffers: keep a copy of the formats
	formats := append([]int16(nil), m.ResultFormatCodes...)
	c.portals[m.DestinationPortal] = &portal{stmt: st, params: params, resultFormats: formats}
	c.backend.Send(&pgproto3.BindComplete{})
	return nil
}

func (c *conn) describe(m *pgproto3.Describe) error {
	if m.ObjectType == 'S' {
		st, err := c.statement(m.Name)
		if err != nil {
			return err
		}
		c.backend.Send(&pgproto3.ParameterDescription{ParameterOIDs: st.oids})
		if st.prep.Columns == nil {
			c.backend.Send(&pgproto3.NoData{})
		} else {
			c.backend.Send(rowDescription(st.prep.Columns, nil))
		}
		return nil
	}
	p, ok := c.portals[m.Name]
	if !ok {
		return sqlerr.New(sqlerr.InvalidCursorName, "portal \"%s\" does not exist", m.Name)
	}
	if p.stmt.prep.Columns == nil {
		c.backend.Send(&pgproto3.NoData{})
	} else {
		c.backend.Send(rowDescription(p.stmt.prep.Columns, p.resultFormats))
	}
	return nil
}

func (c *conn) execute(m *pgproto3.Execute) error {
	p, ok := c.portals[m.Portal]
	if !ok {
		return sqlerr.New(sqlerr.InvalidCursorName, "portal \"%s\" does not exist", m.Portal)
	}
	if p.stmt.prep.Empty() {
		c.backend.Send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	if !p.started {
		p.started = true
		err := c.run(func(ctx context.Context) error {
			res, err := c.sess.ExecPreparedStream(ctx, p.stmt.prep, p.params)
			if err == nil {
				p.rows = &rowCursor{res: res}
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	r := p.rows.res
	if r.Query || len(r.Columns) > 0 {
		err := c.run(func(ctx context.Context) error {
			return c.sendRows(ctx, p.rows, p.resultFormats, int(m.MaxRows))
		})
		if errors.Is(err, errSuspended) {
			c.backend.Send(&pgproto3.PortalSuspended{})
			return nil
		}
		if err != nil {
			c.sendNotices(r) // (what PL/pgSQL said before the failure)
			return err
		}
	}
	c.sendTail(r)
	return nil
}
