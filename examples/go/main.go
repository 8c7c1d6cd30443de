//go:build wasip1

// A Go guest for Weft, built with sdk/go/weftudf:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o go_words.wasm ./examples/go
package main

import (
	"strings"
	"unicode"

	"github.com/weftdb/weft/sdk/go/weftudf"
)

func init() {
	weftudf.Scalar("word_count", "(u) -> l strict", wordCount)
	weftudf.Scalar("title_case", "(u) -> u strict", titleCase)
}

// wordCount counts whitespace-separated words.
func wordCount(c *weftudf.Call) error {
	for i := int64(0); i < c.Rows; i++ {
		c.Out.SetInt64(i, int64(len(strings.Fields(string(c.In[0].Bytes(c.Row(0, i)))))))
	}
	return nil
}

// titleCase upper-cases the first letter of each word.
func titleCase(c *weftudf.Call) error {
	for i := int64(0); i < c.Rows; i++ {
		s := []rune(string(c.In[0].Bytes(c.Row(0, i))))
		start := true
		for j, r := range s {
			if unicode.IsSpace(r) {
				start = true
			} else if start {
				s[j] = unicode.ToUpper(r)
				start = false
			}
		}
		c.Out.AppendBytes(i, []byte(string(s)))
	}
	return nil
}

func main() {}
