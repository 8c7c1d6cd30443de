// Package sqlerr defines the one error type every layer of Weft returns to
// clients: a PostgreSQL SQLSTATE, a message and, for errors tied to the SQL
// text, a 1-based character position.
package sqlerr

import (
	"context"
	"errors"
	"fmt"
)

// SQLSTATE codes used by the engine (PostgreSQL's numbering).
const (
	SyntaxError                          = "42601"
	UndefinedTable                       = "42P01"
	UndefinedColumn                      = "42703"
	UndefinedFunction                    = "42883"
	UndefinedObject                      = "42704"
	InvalidName                          = "42602"
	UndefinedParameter                   = "42P02"
	UndefinedSchema                      = "3F000"
	DuplicateTable                       = "42P07"
	DuplicateSchema                      = "42P06"
	DuplicateColumn                      = "42701"
	DuplicateObject                      = "42710"
	DuplicateAlias                       = "42712"
	InvalidRecursion                     = "42P19"
	InvalidObjectDefinition              = "42P17"
	AmbiguousColumn                      = "42702"
	DatatypeMismatch                     = "42804"
	CannotCoerce                         = "42846"
	GroupingError                        = "42803"
	WrongObjectType                      = "42809"
	InvalidColumnRef                     = "42P10"
	WindowingError                       = "42P20"
	DivisionByZero                       = "22012"
	NumericOutOfRange                    = "22003"
	InvalidText                          = "22P02"
	StringTooLong                        = "22001"
	InvalidDatetime                      = "22007"
	DatetimeOverflow                     = "22008"
	IntervalFieldOverflow                = "22015"
	InvalidTimeZoneDisplacement          = "22009"
	InvalidEscapeSequence                = "22025"
	InvalidUseOfEscapeCharacter          = "2200C"
	NotNullViolation                     = "23502"
	CheckViolation                       = "23514"
	UniqueViolation                      = "23505"
	SequenceGeneratorLimitExceeded       = "2200H"
	ObjectNotInPrerequisiteState         = "55000"
	GeneratedAlways                      = "428C9"
	ForeignKeyViolation                  = "23503"
	InvalidForeignKey                    = "42830"
	InvalidTableDefinition               = "42P16"
	CardinalityViolation                 = "21000"
	InvalidParameter                     = "22023"
	SubstringError                       = "22011"
	InvalidRowCount                      = "2201W"
	InvalidOffset                        = "2201X"
	FeatureNotSupported                  = "0A000"
	QueryCanceled                        = "57014"
	OutOfMemory                          = "53200"
	ProgramLimitExceeded                 = "54000"
	StackDepthLimitExceeded              = "54001"
	TooManyConnections                   = "53300"
	AdminShutdown                        = "57P01"
	CantChangeRuntimeParam               = "55P02"
	DependentObjects                     = "2BP01"
	InvalidSchemaDef                     = "42P15"
	InvalidRegex                         = "2201B"
	ArraySubscriptError                  = "2202E"
	InsufficientPrivilege                = "42501"
	UndefinedFile                        = "58P01"
	ExternalRoutine                      = "38000"
	InvalidFunctionDefinition            = "42P13"
	DuplicateFunction                    = "42723"
	AmbiguousFunction                    = "42725"
	SQLClientUnableToEstablishConnection = "08001"
	ConnectionFailure                    = "08006"
	ProtocolViolation                    = "08P01"
	InvalidBinaryRepresentation          = "22P03"
	InFailedTransaction                  = "25P02"
	DuplicatePreparedStatement           = "42P05"
	InvalidStatementName                 = "26000"
	InvalidCursorName                    = "34000"
	DuplicateCursor                      = "42P03"
	IOError                              = "58030"
	NullValueNotAllowed                  = "22004"
	BadCopyFileFormat                    = "22P04"
	InvalidPassword                      = "28P01"
	ObjectInUse                          = "55006"
	LockNotAvailable                     = "55P03"
	DiskFull                             = "53100"
	NoActiveTransaction                  = "25P01"
	InvalidSavepoint                     = "3B001"
	SerializationFailure                 = "40001"
	DeadlockDetected                     = "40P01"
	ActiveTransaction                    = "25001"
	ReadOnlyTransaction                  = "25006"
	Internal                             = "XX000"
	DataCorrupted                        = "XX001"
	IndexCorrupted                       = "XX002"
	ReservedName                         = "42939"
	InvalidAuthorization                 = "28000"
	InvalidGrantOperation                = "0LP01"
)

// Error is a SQL error. Position is 1-based (0 means "no position").
type Error struct {
	Code     string
	Message  string
	Detail   string
	Hint     string
	Position int
	Severity string // "ERROR" unless set
	cause    error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// New builds an error with a SQLSTATE and a formatted message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// At returns a copy of e positioned at the 0-based byte offset loc of the SQL
// text (negative loc means unknown and leaves the error unpositioned).
func (e *Error) At(loc int32) *Error {
	if loc < 0 || e.Position != 0 {
		return e
	}
	c := *e
	c.Position = int(loc) + 1
	return &c
}

// WithDetail returns a copy of e carrying detail.
func (e *Error) WithDetail(detail string) *Error {
	c := *e
	c.Detail = detail
	return &c
}

// Wrap turns any error into *Error: an *Error passes through, a context
// cancellation becomes 57014 and anything else is an internal error.
func Wrap(err error) *Error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: QueryCanceled, Message: "canceling statement due to user request", cause: err}
	}
	return &Error{Code: Internal, Message: err.Error(), cause: err}
}

// Format renders an error the way the shell and the slt runner print it:
// `ERROR: message (SQLSTATE) at position N`.
func Format(err error) string {
	e := Wrap(err)
	s := "ERROR: " + e.Message + " (" + e.Code + ")"
	if e.Position > 0 {
		s += fmt.Sprintf(" at position %d", e.Position)
	}
	if e.Detail != "" {
		s += "\nDETAIL: " + e.Detail
	}
	return s
}

// Code returns the SQLSTATE of err ("XX000" for errors that are not *Error,
// "" for nil).
func Code(err error) string {
	if err == nil {
		return "" // no error, no SQLSTATE (Wrap(nil) is nil)
	}
	return Wrap(err).Code
}

// WithHint returns a copy of e carrying hint.
func (e *Error) WithHint(hint string) *Error {
	c := *e
	c.Hint = hint
	return &c
}
