package logical

// EstimateRows guesses how many rows p produces; it is EstimateCard's row
// count (table statistics, PostgreSQL's default selectivities).
func EstimateRows(p Plan) float64 {
	return EstimateCard(p).Rows
}
