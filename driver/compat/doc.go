// Package compat tests the weft database/sql driver under libraries that
// build on database/sql: sqlx and GORM (with its postgres dialect over an
// existing *sql.DB). It is a module of its own so that the engine's
// module does not depend on them.
package compat
