package engine

import (
	"github.com/weftdb/weft/sql/pgsettings"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/weftdb/weft/sql/types"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/sqlerr"
)

func arrayNewRecord(schema *arrow.Schema, cols []arrow.Array, rows int64) arrow.Record {
	return array.NewRecord(schema, cols, rows)
}

func countTrue(a arrow.Array) int64 {
	b := a.(*array.Boolean)
	var n int64
	for i := 0; i < b.Len(); i++ {
		if b.IsValid(i) && b.Value(i) {
			n++
		}
	}
	return n
}

func settingValue(args []*pg.Node) string {
	var parts []string
	for _, a := range args {
		switch x := a.Node.(type) {
		case *pg.Node_AConst:
			switch v := x.AConst.Val.(type) {
			case *pg.A_Const_Sval:
				parts = append(parts, v.Sval.Sval)
			case *pg.A_Const_Ival:
				parts = append(parts, itoa(int64(v.Ival.Ival)))
			case *pg.A_Const_Fval:
				parts = append(parts, v.Fval.Fval)
			case *pg.A_Const_Boolval:
				if v.Boolval.Boolval {
					parts = append(parts, "on")
				} else {
					parts = append(parts, "off")
				}
			}
		case *pg.Node_TypeCast:
			parts = append(parts, settingValue([]*pg.Node{x.TypeCast.Arg}))
		}
	}
	return strings.Join(parts, ", ")
}

func (s *Session) set(st *pg.VariableSetStmt) (*Result, error) {
	name := lower(st.Name)
	if s.fixedSettings[name] {
		return nil, sqlerr.New(sqlerr.CantChangeRuntimeParam, "parameter \"%s\" cannot be changed without restarting the server", name)
	}
	if presetSettings[name] {
		return nil, sqlerr.New(sqlerr.CantChangeRuntimeParam, "parameter \"%s\" cannot be changed", name)
	}
	if err := s.checkSettable(st, name); err != nil {
		return nil, err
	}
	if st.IsLocal && s.tx == nil {
		// PostgreSQL warns and leaves the setting alone
		return &Result{Tag: "SET", Notices: []string{"SET LOCAL can only be used in transaction blocks"}}, nil
	}
	if s.tx != nil {
		s.undoSettingsOnRollback()
		if st.IsLocal {
			s.restoreAtCommit(name)
		}
	}
	switch st.Kind {
	case pg.VariableSetKind_VAR_SET_MULTI:
		return s.setTransactionModes(st)
	case pg.VariableSetKind_VAR_SET_VALUE:
		v := settingValue(st.Args)
		if p, ok := pgsettings.Lookup(name); ok && name != "timezone" {
			// SHOW prints what PostgreSQL prints: "4MB", "on", "1500ms"
			norm, err := p.Normalize(v)
			if err != nil {
				return nil, err
			}
			v = norm
		}
		if name == "default_transaction_isolation" || name == "transaction_isolation" {
			v = strings.ToLower(v)
			if !isolationLevels[v] {
				return nil, sqlerr.New(sqlerr.InvalidParameter, "invalid value for parameter \"%s\": \"%s\"", name, v)
			}
			if name == "transaction_isolation" {
				return s.setTransactionModes(&pg.VariableSetStmt{Name: "transaction", Args: []*pg.Node{pg.MakeSimpleDefElemNode("transaction_isolation", pg.MakeStrNode(v), 0)}})
			}
		}
		if name == "default_transaction_read_only" {
			v = onOff(isOn(v))
		}
		switch name {
		case "role":
			return &Result{Tag: "SET"}, s.setRole(v)
		case "session_authorization":
			return &Result{Tag: "SET"}, s.setSessionAuthorization(v)
		}
		if name == "search_path" {
			var path []string
			for _, p := range strings.Split(v, ",") {
				path = append(path, strings.Trim(strings.TrimSpace(p), `"`))
			}
			s.searchPath = s.withTemp(path)
		}
		if name == "weft.udf_row_errors" && v != "fail" && v != "null" {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "invalid value for parameter \"weft.udf_row_errors\": \"%s\"", v).
				WithHint("Available values: fail, null.")
		}
		if name == queryMemoryLimitSetting {
			if _, err := parseMemorySetting(name, v); err != nil {
				return nil, err
			}
		}
		if name == memoryLimitSetting {
			if err := s.checkMemoryLimit(v); err != nil {
				return nil, err
			}
		}
		if name == broadcastRowsSetting || name == shuffleGroupsSetting || name == fileSplitRowsSetting {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil || n < 0 {
				return nil, sqlerr.New(sqlerr.InvalidParameter, "parameter \"%s\" requires a count of zero or more, not \"%s\"", name, v)
			}
		}
		if name == spillCompressionSetting || name == distributeSetting {
			b, err := booleanSetting(name, v)
			if err != nil {
				return nil, err
			}
			v = b
		}
		if name == "timezone" {
			loc, display, err := timeZoneSetting(st.Args, v)
			if err != nil {
				return nil, err
			}
			s.zone, v = loc, display
		}
		s.settings[name] = v
	case pg.VariableSetKind_VAR_SET_DEFAULT, pg.VariableSetKind_VAR_RESET:
		switch name {
		case "role":
			s.role = ""
			return &Result{Tag: "RESET"}, nil
		case "session_authorization":
			s.user, s.role = s.authUser, ""
			return &Result{Tag: "RESET"}, nil
		}
		s.settings[name] = s.defaultSetting(name)
		if name == "timezone" {
			s.zone = s.startup.zone
		}
		if name == "search_path" {
			s.searchPath = s.withTemp([]string{"public"})
		}
	case pg.VariableSetKind_VAR_RESET_ALL:
		s.settings = defaultSettings()
		for k, v := range s.startup.settings {
			s.settings[k] = v
		}
		s.zone = s.startup.zone
		s.role = ""
		s.searchPath = s.withTemp([]string{"public"})
	}
	if st.Kind == pg.VariableSetKind_VAR_RESET || st.Kind == pg.VariableSetKind_VAR_RESET_ALL {
		return &Result{Tag: "RESET"}, nil
	}
	return &Result{Tag: "SET"}, nil
}

// sessionOnlySettings are parameters SET takes that pg_settings does not
// list (PostgreSQL hides them from SHOW ALL).
var sessionOnlySettings = map[string]bool{"role": true, "session_authorization": true, "seed": true, "transaction": true,
	"session": true}

// checkSettable refuses what PostgreSQL refuses before it looks at the
// value: a name it does not know (a dotted name is a custom setting and
// always allowed, except under Weft's own prefix, which is reserved), and
// a parameter that is fixed, needs a restart or a superuser.
func (s *Session) checkSettable(st *pg.VariableSetStmt, name string) error {
	if st.Kind == pg.VariableSetKind_VAR_RESET_ALL || st.Kind == pg.VariableSetKind_VAR_SET_MULTI || sessionOnlySettings[name] {
		return nil
	}
	if p, ok := pgsettings.Lookup(name); ok {
		return p.SetError(s.isSuperuser())
	}
	if _, ours := defaultSettings()[name]; ours {
		return nil
	}
	prefix, _, dotted := strings.Cut(name, ".")
	if !dotted {
		return sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter \"%s\"", name)
	}
	if prefix == "weft" {
		return sqlerr.New(sqlerr.InvalidName, "invalid configuration parameter name \"%s\"", name).
			WithDetail("\"weft\" is a reserved prefix.")
	}
	return nil
}

// timeZoneSetting reads SET TIME ZONE's value: an interval ('INTERVAL
// '+02:00' HOUR TO MINUTE', hours east of UTC), or text or a number read
// by types.ParseTimeZone. It returns the zone and its SHOW form.
func timeZoneSetting(args []*pg.Node, value string) (*time.Location, string, error) {
	if len(args) == 1 {
		if tc, ok := args[0].Node.(*pg.Node_TypeCast); ok && isIntervalTypeName(tc.TypeCast.TypeName) {
			return intervalTimeZone(value, intervalFieldsMask(tc.TypeCast.TypeName))
		}
	}
	return types.ParseTimeZone(value)
}

func isIntervalTypeName(tn *pg.TypeName) bool {
	if tn == nil || len(tn.Names) == 0 {
		return false
	}
	last, ok := tn.Names[len(tn.Names)-1].Node.(*pg.Node_String_)
	return ok && strings.EqualFold(last.String_.Sval, "interval")
}

// Interval field bits of an INTERVAL type modifier (PostgreSQL's
// INTERVAL_MASK): HOUR TO MINUTE is hour|minute.
const (
	intervalHourBit   = 1 << 10
	intervalMinuteBit = 1 << 11
	intervalSecondBit = 1 << 12
	intervalAllFields = 0x7FFF
)

// intervalFieldsMask is the field mask of INTERVAL '…' HOUR TO MINUTE and
// the like (all fields when none are named).
func intervalFieldsMask(tn *pg.TypeName) int32 {
	if len(tn.Typmods) > 0 {
		if c := tn.Typmods[0].GetAConst(); c != nil && c.GetIval() != nil {
			return c.GetIval().Ival
		}
	}
	return intervalAllFields
}

// intervalTimeZone is a fixed zone from an interval east of UTC, cut to
// the fields its type names (HOUR TO MINUTE drops seconds); PostgreSQL
// refuses months and days in it.
func intervalTimeZone(value string, fields int32) (*time.Location, string, error) {
	bad := func(detail string) error {
		e := sqlerr.New(sqlerr.InvalidParameter, "invalid value for parameter \"TimeZone\": \"INTERVAL '%s'\"", value)
		if detail != "" {
			e = e.WithDetail(detail)
		}
		return e
	}
	d, err := types.ParseInterval(value)
	if err != nil {
		return nil, "", err
	}
	iv := d.(types.IntervalValue)
	switch {
	case iv.Months != 0:
		return nil, "", bad("Cannot specify months in time zone interval.")
	case iv.Days != 0:
		return nil, "", bad("Cannot specify days in time zone interval.")
	}
	secs := int(iv.Micros / 1_000_000)
	switch {
	case fields&intervalSecondBit == 0 && fields&intervalMinuteBit != 0:
		secs = secs / 60 * 60
	case fields&intervalSecondBit == 0 && fields&intervalHourBit != 0:
		secs = secs / 3600 * 3600
	}
	return types.OffsetZone(secs)
}

func (s *Session) show(name string) (*Result, error) {
	name = lower(name)
	if name == "all" {
		// PostgreSQL's three columns: name, setting, description
		keys := make([]string, 0, len(s.settings))
		for k := range s.settings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		mem := s.db.opts.Mem
		cols := make([]*array.StringBuilder, 3)
		for i := range cols {
			cols[i] = array.NewStringBuilder(mem)
			defer cols[i].Release()
		}
		for _, k := range keys {
			cols[0].Append(k)
			cols[1].Append(s.settings[k])
			cols[2].Append("")
		}
		arrs := make([]arrow.Array, 3)
		fields := make([]arrow.Field, 3)
		out := make([]Column, 3)
		for i, name := range []string{"name", "setting", "description"} {
			arrs[i] = cols[i].NewArray()
			defer arrs[i].Release()
			fields[i] = arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
			out[i] = Column{Name: name, Type: types.TextT}
		}
		rec := array.NewRecord(arrow.NewSchema(fields, nil), arrs, int64(len(keys)))
		return &Result{Columns: out, Batches: []arrow.Record{rec}, Tag: "SHOW", Query: true}, nil
	}
	v, ok := s.Setting(name)
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter \"%s\"", name)
	}
	return textResult(s, showColumnName(name), []string{v}, "SHOW"), nil
}

// Setting returns a session setting's current value.
func (s *Session) Setting(name string) (string, bool) {
	name = lower(name) // (once: a client's reported settings are read after every statement)
	switch name {
	case "is_superuser":
		if s.isSuperuser() {
			return "on", true
		}
		return "off", true
	case "session_authorization":
		return s.user, true
	case "role":
		if s.role == "" {
			return "none", true
		}
		return s.role, true
	}
	if v, ok := s.transactionSetting(name); ok {
		return v, true
	}
	if v, ok := s.settings[name]; ok {
		return v, true
	}
	_, known := pgsettings.Lookup(name)
	return builtinSetting(name), known
}

// TimeZone is the session's TimeZone setting as a zone (UTC by default):
// callers that print results use it for timestamptz values.
func (s *Session) TimeZone() *time.Location {
	if s.zone == nil {
		return time.UTC
	}
	return s.zone
}

// startupSettings are the values a client gave when it connected: RESET
// returns to them instead of the server's defaults, as in PostgreSQL.
type startupSettings struct {
	settings map[string]string
	zone     *time.Location
}

func (s *Session) defaultSetting(name string) string {
	if v, ok := s.startup.settings[name]; ok {
		return v
	}
	if v, ok := defaultSettings()[name]; ok {
		return v
	}
	return builtinSetting(name)
}

// builtinSetting is PostgreSQL's built-in value of a parameter Weft does
// not set itself, as SHOW prints it ("" for one it does not know).
func builtinSetting(name string) string {
	if p, ok := pgsettings.Lookup(name); ok {
		return p.Show
	}
	return ""
}

// KeepAsDefault makes a setting's current value the one RESET returns to
// (for start-up parameters).
func (s *Session) KeepAsDefault(name string) {
	name = lower(name)
	if s.startup.settings == nil {
		s.startup.settings = map[string]string{}
	}
	s.startup.settings[name] = s.settings[name]
	if name == "timezone" {
		s.startup.zone = s.zone
	}
}

// showColumnName is SHOW's column name: the setting's canonical spelling,
// as PostgreSQL names it ("TimeZone" for SHOW timezone).
func showColumnName(name string) string {
	switch name {
	case "timezone":
		return "TimeZone"
	case "datestyle":
		return "DateStyle"
	case "intervalstyle":
		return "IntervalStyle"
	}
	return name
}

// sessionSettings is what SET changes: the settings and the state derived
// from them.
type sessionSettings struct {
	settings   map[string]string
	zone       *time.Location
	searchPath []string
}

func (s *Session) saveSettings() sessionSettings {
	saved := sessionSettings{settings: make(map[string]string, len(s.settings)), zone: s.zone, searchPath: s.searchPath}
	for k, v := range s.settings {
		saved.settings[k] = v
	}
	return saved
}

// undoSettingsOnRollback lets ROLLBACK (and ROLLBACK TO SAVEPOINT) put
// the settings back as they were before a SET in the block.
func (s *Session) undoSettingsOnRollback() {
	saved := s.saveSettings()
	s.tx.undoLater = append(s.tx.undoLater, func() {
		s.settings, s.zone, s.searchPath = saved.settings, saved.zone, saved.searchPath
	})
}

// restoreAtCommit makes COMMIT end a SET LOCAL: the setting returns to its
// value before the block's first SET LOCAL of it.
func (s *Session) restoreAtCommit(name string) {
	if s.tx.localSettings == nil {
		s.tx.localSettings = map[string]func(){}
	}
	if _, done := s.tx.localSettings[name]; done {
		return
	}
	value, had := s.settings[name]
	zone, path := s.zone, s.searchPath
	s.tx.localSettings[name] = func() {
		if had {
			s.settings[name] = value
		} else {
			delete(s.settings, name)
		}
		switch name {
		case "timezone":
			s.zone = zone
		case "search_path":
			s.searchPath = path
		}
	}
}

// presetSettings describe the server and never change (PostgreSQL's
// "Preset Options"): SHOW and current_setting read them, SET and RESET
// refuse them.
var presetSettings = map[string]bool{"server_version": true, "server_version_num": true, "server_encoding": true,
	"integer_datetimes": true, "max_identifier_length": true, "max_index_keys": true, "block_size": true,
	"lc_collate": true, "lc_ctype": true}

// setConfig is set_config(name, value, is_local): SET or SET LOCAL.
func (s *Session) setConfig(name, value string, isLocal bool) error {
	_, err := s.set(&pg.VariableSetStmt{Kind: pg.VariableSetKind_VAR_SET_VALUE, Name: name,
		Args: []*pg.Node{pg.MakeAConstStrNode(value, 0)}, IsLocal: isLocal})
	return err
}
