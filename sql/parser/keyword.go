package parser

//go:generate go run ./internal/genkeywords

// Keyword is one word of the SQL grammar, as pg_get_keywords() lists it.
type Keyword struct {
	Word string
	// Category: U unreserved, C unreserved but not a function or type
	// name, T reserved but allowed as a function or type name, R reserved.
	Category  byte
	BareLabel bool // usable as a column label without AS
}

// CategoryDescription is pg_get_keywords()'s catdesc for a category.
func CategoryDescription(c byte) string {
	switch c {
	case 'U':
		return "unreserved"
	case 'C':
		return "unreserved (cannot be function or type name)"
	case 'T':
		return "reserved (can be function or type name)"
	}
	return "reserved"
}
