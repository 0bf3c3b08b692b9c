package sqlclass
import "testing"
func BenchmarkLexOnly(b *testing.B) {
	for b.Loop() {
		var l lexer
		l.init(benchShortSelect, false)
		var t token
		for { l.next(&t); if t.kind == tkEOF || t.kind == tkError { break } }
	}
}
func BenchmarkLookup(b *testing.B) {
	ws := []string{"SELECT","id","name","email","FROM","users","WHERE","id","AND","status","ORDER","BY","created_at","DESC","LIMIT"}
	for b.Loop() { for _, w := range ws { lookupWord(w) } }
}
func TestProbe(t *testing.T) {
	maxp, tot := 0, 0
	for _, e := range words.entries {
		p := 0; h := wordSlot(wordKey(e.name), len(e.name))
		for i := h; ; i = (i + 1) & wordTableMask { p++; if words.entries[words.slots[i]-1].name == e.name { break } }
		tot += p; if p > maxp { maxp = p }
	}
	t.Logf("entries=%d max probe=%d avg=%.2f", len(words.entries), maxp, float64(tot)/float64(len(words.entries)))
}
