package driver

import (
	"database/sql"
	sqldriver "database/sql/driver"
	"fmt"
	"reflect"
	"strconv"

	"github.com/weftdb/weft/sql/types"
)

// Array adapts a pointer to a Go slice of strings, integers, floats or
// booleans (or pointers to them, for arrays holding NULL) for scanning
// a PostgreSQL array, which the driver returns as its text:
//
//	var tags []string
//	err := db.QueryRow("SELECT tags FROM post WHERE id = $1", id).Scan(driver.Array(&tags))
//
// As an argument it writes the slice as an array literal (a plain slice
// argument does the same).
func Array(slicePtr any) interface {
	sql.Scanner
	sqldriver.Valuer
} {
	return arrayArg{ptr: slicePtr}
}

type arrayArg struct {
	ptr any
}

// Value writes the slice as an array literal (NULL for a nil pointer).
func (a arrayArg) Value() (sqldriver.Value, error) {
	rv := reflect.ValueOf(a.ptr)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.Slice && rv.IsNil() {
		return nil, nil
	}
	lit, ok := arrayLiteral(rv.Interface())
	if !ok {
		return nil, fmt.Errorf("driver.Array: cannot write a %T as an array", a.ptr)
	}
	return lit, nil
}

// Scan reads an array's text into the slice; NULL sets it to nil.
func (a arrayArg) Scan(src any) error {
	rv := reflect.ValueOf(a.ptr)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Slice {
		return fmt.Errorf("driver.Array: scanning needs a pointer to a slice, not %T", a.ptr)
	}
	slice := rv.Elem()
	var text string
	switch s := src.(type) {
	case nil:
		slice.Set(reflect.Zero(slice.Type()))
		return nil
	case string:
		text = s
	case []byte:
		text = string(s)
	default:
		return fmt.Errorf("driver.Array: cannot read a %T as an array", src)
	}
	elems, _, err := types.SplitArrayLiteral(text)
	if err != nil {
		return err
	}
	out := reflect.MakeSlice(slice.Type(), len(elems), len(elems))
	for i, e := range elems {
		if err := setElement(out.Index(i), e); err != nil {
			return fmt.Errorf("driver.Array: element %d: %w", i+1, err)
		}
	}
	slice.Set(out)
	return nil
}

// setElement stores one element's text (nil for NULL) into v.
func setElement(v reflect.Value, text *string) error {
	if v.Kind() == reflect.Pointer {
		if text == nil {
			return nil // left nil
		}
		p := reflect.New(v.Type().Elem())
		if err := setElement(p.Elem(), text); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	if text == nil {
		return fmt.Errorf("NULL cannot be stored in a %s (use a slice of pointers)", v.Type())
	}
	s := *text
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(s) // t and f, as PostgreSQL prints them
		if err != nil {
			return err
		}
		v.SetBool(b)
	default:
		return fmt.Errorf("cannot store an array element in a %s", v.Type())
	}
	return nil
}
