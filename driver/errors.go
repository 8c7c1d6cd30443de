package driver

import (
	"errors"

	"github.com/weftdb/weft/sql/sqlerr"
)

// Error is the type of every error Weft reports for a statement: Code is
// its PostgreSQL SQLSTATE ("23505"), Message, Detail, Hint and Position
// (1-based, in the SQL text) say the rest. Get it with errors.As:
//
//	var e *driver.Error
//	if errors.As(err, &e) && e.Code == "23505" { ... }
type Error = sqlerr.Error

// SQLState returns err's SQLSTATE: the code of the *Error it wraps, or
// "" when it wraps none (a database/sql or context error of its own).
func SQLState(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
