package physical

// Hold keeps r until the builder is released: something the built plan
// reads that the caller acquired for it (a cached table's batches).
func (b *Builder) Hold(r interface{ Release() }) {
	b.releasers = append(b.releasers, r)
}
