package types

import (
	"math"
	"strings"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
)

// Infinite dates and timestamps are kept, as PostgreSQL keeps them, as the
// extremes of their integer representation: they sort below and above
// every finite value without any special case in comparisons, sorting,
// min/max, hashing or storage.
const (
	DateNegInfinity      = int32(math.MinInt32)
	DatePosInfinity      = int32(math.MaxInt32)
	TimestampNegInfinity = int64(math.MinInt64)
	TimestampPosInfinity = int64(math.MaxInt64)
)

// Finite timestamps run from PostgreSQL's first instant, Julian day 0
// (4714-11-24 00:00:00 BC), up to but excluding EndTimestamp. PostgreSQL's
// own end (294277-01-01) lies past what microseconds since 1970 can hold
// in an int64, so Weft's range stops at the last whole day before
// math.MaxInt64 (294247-01-10), keeping MaxInt64 free for infinity.
const (
	MinTimestamp = int64(firstJulianDay) * MicrosPerDay
	EndTimestamp = math.MaxInt64 / MicrosPerDay * MicrosPerDay
	// EndTimestampDay is EndTimestamp in days since 1970-01-01: the first
	// date that has no timestamp.
	EndTimestampDay = int32(EndTimestamp / MicrosPerDay)
)

// MaxIntervalMicros bounds an interval's time part: intervals are kept in
// Arrow as months, days and nanoseconds, so the microseconds stop at a
// thousandth of PostgreSQL's limit (about 2.5 million hours).
const MaxIntervalMicros = math.MaxInt64 / 1000

// IntervalMicrosFit reports whether an interval's time part can be held.
func IntervalMicrosFit(us int64) bool { return us >= -MaxIntervalMicros && us <= MaxIntervalMicros }

// DateIsFinite reports whether a date is neither infinity nor -infinity.
func DateIsFinite(d int32) bool { return d != DateNegInfinity && d != DatePosInfinity }

// TimestampIsFinite reports whether a timestamp(tz) is neither infinity
// nor -infinity.
func TimestampIsFinite(us int64) bool {
	return us != TimestampNegInfinity && us != TimestampPosInfinity
}

// TimestampInRange reports whether a finite timestamp lies in the range
// Weft can hold.
func TimestampInRange(us int64) bool { return us >= MinTimestamp && us < EndTimestamp }

// DateInRange reports whether a finite date lies in PostgreSQL's range.
func DateInRange(d int64) bool { return d >= firstJulianDay && d <= lastDate }

// TimestampOutOfRange is PostgreSQL's error for a timestamp result past
// the range.
func TimestampOutOfRange() *sqlerr.Error {
	return sqlerr.New(sqlerr.DatetimeOverflow, "timestamp out of range")
}

// DateOutOfRange is PostgreSQL's error for a date result past the range.
func DateOutOfRange() *sqlerr.Error {
	return sqlerr.New(sqlerr.DatetimeOverflow, "date out of range")
}

// IntervalOutOfRange is PostgreSQL's error for an interval result whose
// months, days or microseconds overflow.
func IntervalOutOfRange() *sqlerr.Error {
	return sqlerr.New(sqlerr.DatetimeOverflow, "interval out of range")
}

// CheckTimestamp returns us when it is infinite or in range, else the
// out-of-range error.
func CheckTimestamp(us int64) (int64, error) {
	if TimestampIsFinite(us) && !TimestampInRange(us) {
		return 0, TimestampOutOfRange()
	}
	return us, nil
}

// DateToTimestamp is a date's midnight as a timestamp: infinities map to
// infinities, and a date past the timestamp range is PostgreSQL's error.
func DateToTimestamp(d int32) (int64, error) {
	switch d {
	case DateNegInfinity:
		return TimestampNegInfinity, nil
	case DatePosInfinity:
		return TimestampPosInfinity, nil
	}
	if d >= EndTimestampDay || int64(d) < firstJulianDay {
		// checked before the multiplication, which could overflow
		return 0, sqlerr.New(sqlerr.DatetimeOverflow, "date out of range for timestamp")
	}
	return int64(d) * MicrosPerDay, nil
}

// TimestampToDate is the date of a (local) timestamp; infinities map to
// infinities.
func TimestampToDate(us int64) int32 {
	switch us {
	case TimestampNegInfinity:
		return DateNegInfinity
	case TimestampPosInfinity:
		return DatePosInfinity
	}
	return int32(floorDiv64(us, MicrosPerDay))
}

// specialTimestamp reads the words PostgreSQL's date and timestamp input
// accepts for whole values: infinity, -infinity and epoch. ok is false
// for anything else.
func specialTimestamp(s string) (us int64, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "infinity":
		return TimestampPosInfinity, true
	case "-infinity":
		return TimestampNegInfinity, true
	case "epoch":
		return 0, true
	}
	return 0, false
}

// relativeDay reads the words that name a day relative to the current
// one: today, tomorrow and yesterday, returning the offset in days.
func relativeDay(word string) (int64, bool) {
	switch word {
	case "today":
		return 0, true
	case "tomorrow":
		return 1, true
	case "yesterday":
		return -1, true
	}
	return 0, false
}

// A Clock supplies the current statement's time for the input words
// 'now', 'today', 'tomorrow' and 'yesterday'; the zero Clock reads the
// system clock.
type Clock struct{ Now time.Time }

func (c Clock) now() time.Time {
	if c.Now.IsZero() {
		return time.Now()
	}
	return c.Now
}

// formatInfinite prints an infinite date or timestamp; ok is false for a
// finite one.
func formatInfinite(negative, positive bool) (string, bool) {
	switch {
	case negative:
		return "-infinity", true
	case positive:
		return "infinity", true
	}
	return "", false
}
