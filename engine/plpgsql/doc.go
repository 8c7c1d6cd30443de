// Package plpgsql runs PL/pgSQL: the bodies of LANGUAGE plpgsql functions
// and of DO blocks. A body is parsed by PostgreSQL's own PL/pgSQL parser
// (through pg_query) and compiled once into a tree of statements whose
// embedded SQL is already parsed, with every reference to a variable
// replaced by a numbered parameter; running it binds the variables'
// current values to those parameters and hands each statement to a Host,
// the session it runs in. The package knows nothing of planning or
// storage: whatever SQL does, it does through the Host.
//
// A compiled Function is immutable and may run on several goroutines at
// once; each call has its own frame of variable values.
package plpgsql
