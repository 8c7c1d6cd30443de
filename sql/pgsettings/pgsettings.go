// Package pgsettings knows PostgreSQL 15's configuration parameters:
// their names, types, units, ranges, enum values, defaults and when they
// may change (the context). SET, SHOW and pg_settings read it so that a
// misspelt name or an impossible value is refused as PostgreSQL refuses
// it, and a value is shown as PostgreSQL shows it ("4MB", "1500ms").
//
// params_pg15.go is generated from a running PostgreSQL 15 by
// scripts/gen-pgsettings.py.
package pgsettings

import (
	"math"
	"strconv"
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
)

// Param is one configuration parameter as pg_settings describes it.
type Param struct {
	Name     string // as PostgreSQL spells it (DateStyle, TimeZone, work_mem)
	Type     string // bool, integer, real, string, enum
	Context  string // internal, postmaster, sighup, superuser-backend, backend, superuser, user
	Unit     string // the unit of a number without one: kB, 8kB, MB, B, ms, s, min
	Category string
	Boot     string // the built-in value, in Unit
	Show     string // the built-in value as SHOW prints it
	Min, Max string
	Enum     []string
}

// Lookup finds a parameter by name, ignoring case as PostgreSQL does.
func Lookup(name string) (*Param, bool) {
	i, ok := byLowerName[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return &pg15Params[i], true
}

// All lists every parameter in PostgreSQL's order (by name, ignoring
// case).
func All() []Param { return pg15Params }

var byLowerName = func() map[string]int {
	m := make(map[string]int, len(pg15Params))
	for i, p := range pg15Params {
		m[strings.ToLower(p.Name)] = i
	}
	return m
}()

// SetError says why SET may not change the parameter in this context
// (nil when it may): fixed at build, at server start, in the server's
// configuration file, at connection start, or by superusers only.
func (p *Param) SetError(superuser bool) error {
	name := strings.ToLower(p.Name)
	switch p.Context {
	case "internal":
		return sqlerr.New(sqlerr.CantChangeRuntimeParam, "parameter \"%s\" cannot be changed", name)
	case "postmaster":
		return sqlerr.New(sqlerr.CantChangeRuntimeParam, "parameter \"%s\" cannot be changed without restarting the server", name)
	case "sighup":
		return sqlerr.New(sqlerr.CantChangeRuntimeParam, "parameter \"%s\" cannot be changed now", name)
	case "backend", "superuser-backend":
		return sqlerr.New(sqlerr.CantChangeRuntimeParam, "parameter \"%s\" cannot be set after connection start", name)
	case "superuser":
		if !superuser {
			return sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to set parameter \"%s\"", name)
		}
	}
	return nil
}

// Normalize checks a value SET gives and returns it as SHOW prints it.
func (p *Param) Normalize(value string) (string, error) {
	switch p.Type {
	case "bool":
		b, ok := ParseBool(value)
		if !ok {
			return "", sqlerr.New(sqlerr.InvalidParameter, "parameter \"%s\" requires a Boolean value", p.lowerName())
		}
		if b {
			return "on", nil
		}
		return "off", nil
	case "enum":
		return p.normalizeEnum(value)
	case "integer":
		return p.normalizeInt(value)
	case "real":
		return p.normalizeReal(value)
	}
	return value, nil
}

func (p *Param) lowerName() string { return strings.ToLower(p.Name) }

// ParseBool reads a boolean as PostgreSQL's parse_bool does: on, off,
// true, false, yes, no, 1, 0, or an unambiguous prefix of one.
func ParseBool(v string) (bool, bool) {
	s := strings.ToLower(strings.TrimSpace(v))
	if s == "" {
		return false, false
	}
	for _, w := range []struct {
		word string
		min  int
		val  bool
	}{{"true", 1, true}, {"false", 1, false}, {"yes", 1, true}, {"no", 1, false}, {"on", 2, true}, {"off", 2, false}, {"1", 1, true}, {"0", 1, false}} {
		if len(s) >= w.min && len(s) <= len(w.word) && strings.HasPrefix(w.word, s) {
			return w.val, true
		}
	}
	return false, false
}

func (p *Param) normalizeEnum(value string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(value))
	for _, e := range p.Enum {
		if v == strings.ToLower(e) {
			return e, nil
		}
	}
	// values PostgreSQL accepts without listing them: boolean spellings
	// of an on/off enum, and "info" among the message levels
	if p.hasEnum("on") && p.hasEnum("off") {
		if b, ok := ParseBool(v); ok {
			if b {
				return "on", nil
			}
			return "off", nil
		}
	}
	if v == "info" && p.hasEnum("notice") {
		return "info", nil
	}
	return "", sqlerr.New(sqlerr.InvalidParameter, "invalid value for parameter \"%s\": \"%s\"", p.lowerName(), value).
		WithHint("Available values: " + strings.Join(p.Enum, ", ") + ".")
}

func (p *Param) hasEnum(v string) bool {
	for _, e := range p.Enum {
		if e == v {
			return true
		}
	}
	return false
}

// unitScale is one unit a number may carry, in the smallest unit of its
// kind (bytes for memory, microseconds for time).
type unitScale struct {
	name  string
	scale float64
}

var memoryUnits = []unitScale{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"kB", 1 << 10}, {"B", 1}}
var timeUnits = []unitScale{{"d", 86400e6}, {"h", 3600e6}, {"min", 60e6}, {"s", 1e6}, {"ms", 1e3}, {"us", 1}}

// units gives the unit family of the parameter and the size of its base
// unit in that family's smallest unit (8kB → 8192).
func (p *Param) units() ([]unitScale, float64) {
	switch p.Unit {
	case "":
		return nil, 1
	case "8kB":
		return memoryUnits, 8192
	}
	for _, fam := range [][]unitScale{memoryUnits, timeUnits} {
		for _, u := range fam {
			if u.name == p.Unit {
				return fam, u.scale
			}
		}
	}
	return nil, 1
}

// BaseUnits reads a number SET accepts ("64MB", "1.5s", "100") in the
// parameter's unit (kB for work_mem, ms for statement_timeout).
func (p *Param) BaseUnits(value string) (float64, error) { return p.parseNumber(value) }

// parseNumber reads "64MB", "1.5s" or "100" into the parameter's base
// unit.
func (p *Param) parseNumber(value string) (float64, error) {
	s := strings.TrimSpace(value)
	num, unit := splitNumber(s)
	fam, base := p.units()
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		if n, ierr := strconv.ParseInt(num, 0, 64); ierr == nil {
			f, err = float64(n), nil
		}
	}
	if err != nil || math.IsNaN(f) {
		return 0, p.invalid(value, "")
	}
	if unit == "" {
		return f, nil
	}
	for _, u := range fam {
		if u.name == unit {
			return f * u.scale / base, nil
		}
	}
	if fam == nil {
		return 0, p.invalid(value, "")
	}
	return 0, p.invalid(value, unitHint(fam))
}

// splitNumber cuts "64MB" into "64" and "MB": a hexadecimal number
// ("0x40") runs over hex digits, a decimal one over digits, signs, the
// point and an exponent.
func splitNumber(s string) (num, unit string) {
	end := 0
	if strings.HasPrefix(strings.ToLower(s), "0x") {
		end = 2
		for end < len(s) && strings.ContainsRune("0123456789abcdefABCDEF", rune(s[end])) {
			end++
		}
	} else {
		for end < len(s) && strings.ContainsRune("0123456789.+-", rune(s[end])) ||
			end > 0 && end+1 < len(s) && (s[end] == 'e' || s[end] == 'E') && strings.ContainsRune("0123456789+-", rune(s[end+1])) {
			end++
		}
	}
	return s[:end], strings.TrimSpace(s[end:])
}

func unitHint(fam []unitScale) string {
	if fam[0].name == "TB" {
		return `Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".`
	}
	return `Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".`
}

func (p *Param) invalid(value, hint string) error {
	e := sqlerr.New(sqlerr.InvalidParameter, "invalid value for parameter \"%s\": \"%s\"", p.lowerName(), value)
	if hint != "" {
		e = e.WithHint(hint)
	}
	return e
}

// outOfRange is PostgreSQL's error for a value (in the parameter's unit)
// outside the parameter's range.
func (p *Param) outOfRange(value string) error {
	unit := ""
	if p.Unit != "" {
		unit = " " + p.Unit
	}
	return sqlerr.New(sqlerr.InvalidParameter, "%s%s is outside the valid range for parameter \"%s\" (%s .. %s)", value, unit, p.lowerName(), p.Min, p.Max)
}

func (p *Param) normalizeInt(value string) (string, error) {
	f, err := p.parseNumber(value)
	if err != nil {
		return "", err
	}
	f = math.Round(f)
	if f > math.MaxInt32 || f < math.MinInt32 {
		return "", p.invalid(value, "Value exceeds integer range.")
	}
	n := int64(f)
	lo, _ := strconv.ParseInt(p.Min, 10, 64)
	hi, _ := strconv.ParseInt(p.Max, 10, 64)
	if p.Min != "" && (n < lo || n > hi) {
		return "", p.outOfRange(strconv.FormatInt(n, 10))
	}
	return p.ShowInt(n), nil
}

// ShowInt prints a number of base units as SHOW does: in the largest
// unit that divides it exactly.
func (p *Param) ShowInt(n int64) string {
	fam, base := p.units()
	if fam == nil || n <= 0 {
		return strconv.FormatInt(n, 10) // 0 and -1 (off, none) carry no unit
	}
	total := float64(n) * base
	for _, u := range fam {
		if u.scale < base && !(p.Unit == "8kB" && u.name == "kB") {
			continue
		}
		if math.Mod(total, u.scale) == 0 {
			return strconv.FormatInt(int64(total/u.scale), 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + p.Unit
}

func (p *Param) normalizeReal(value string) (string, error) {
	f, err := p.parseNumber(value)
	if err != nil {
		return "", err
	}
	lo, _ := strconv.ParseFloat(p.Min, 64)
	hi, _ := strconv.ParseFloat(p.Max, 64)
	if p.Min != "" && (f < lo || f > hi) {
		return "", p.outOfRange(strconv.FormatFloat(f, 'g', 6, 64))
	}
	s := strconv.FormatFloat(f, 'g', 6, 64)
	if f == 0 {
		return s, nil
	}
	return s + p.Unit, nil
}
