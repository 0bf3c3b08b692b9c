package sqlclass

import "testing"

func BenchmarkLexOnly(b *testing.B) {
	for b.Loop() {
		var l lexer
		l.init(benchShortSelect, false)
		var t token
		for {
			l.next(&t)
			if t.kind == tkEOF || t.kind == tkError {
				break
			}
		}
	}
}
