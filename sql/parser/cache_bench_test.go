package parser

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
)

const benchQuery = "SELECT abalance FROM pgbench_accounts WHERE aid = %d;"

func BenchmarkParsePgbenchSelect(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Parse(fmt.Sprintf(benchQuery, 1000000+i%1000)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCachedParsePgbenchSelect(b *testing.B) {
	var c Cache
	for i := 0; i < b.N; i++ {
		if _, err := c.Parse(fmt.Sprintf(benchQuery, 1000000+i%1000)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCloneTree(b *testing.B) {
	stmts, _ := Parse(fmt.Sprintf(benchQuery, 5))
	for i := 0; i < b.N; i++ {
		_ = proto.Clone(stmts[0])
	}
}
