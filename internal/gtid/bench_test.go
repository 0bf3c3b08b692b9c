package gtid

import "testing"

// typicalToken is one MySQL UUID with one interval, a position and a time.
const typicalToken = "2~my~3e11fa47-71ca-11e1-9e33-c80aa9429562:1-1234567~binlog.000042:987654321:1~1700000000000"

func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(typicalToken); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	tok, err := Decode(typicalToken)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Encode(tok)
	}
}

func BenchmarkParseMySQLSet(b *testing.B) {
	const s = "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:11-18,\n896e7882-18fe-11ef-ab88-22222d34d411:1-1000"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMySQLSet(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnion(b *testing.B) {
	x := mustMySQL(b, uA+":1-100:200-300,"+uB+":1-50")
	y := mustMySQL(b, uA+":101-150,"+uC+":1-7")
	b.ReportAllocs()
	for b.Loop() {
		_ = x.Union(y)
	}
}

func BenchmarkUnionContained(b *testing.B) {
	x := mustMySQL(b, uA+":1-100:200-300,"+uB+":1-50")
	y := mustMySQL(b, uA+":250")
	b.ReportAllocs()
	for b.Loop() {
		_ = x.Union(y)
	}
}

func BenchmarkContains(b *testing.B) {
	x := mustMySQL(b, uA+":1-100:200-300,"+uB+":1-50,"+uC+":1-9")
	y := mustMySQL(b, uA+":250,"+uC+":3-4")
	b.ReportAllocs()
	for b.Loop() {
		if !x.Contains(y) {
			b.Fatal("not contained")
		}
	}
}

func BenchmarkMariaDBMerge(b *testing.B) {
	x := mustMaria(b, "0-1-100,1-2-50")
	y := mustMaria(b, "0-1-101,2-2-7")
	b.ReportAllocs()
	for b.Loop() {
		_ = x.Merge(y)
	}
}
