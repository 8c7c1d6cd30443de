package engine

// IdleWasmInstances counts the wasm instances pooled for reuse.
func IdleWasmInstances(db *DB) int { return db.udf.IdleInstances() }
