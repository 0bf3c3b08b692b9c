package sqlclass

import (
	"fmt"
	"strings"
	"testing"
)

const (
	benchShortSelect = "SELECT id, name, email FROM users WHERE id = ? AND status = 'active' ORDER BY created_at DESC LIMIT 10"
	benchShortInsert = "INSERT INTO users (name, email, status, created_at) VALUES (?, ?, 'active', NOW())"
)

// benchLongSelect builds a ~2 KB reporting query with joins, a subquery,
// built-in functions, strings and comments.
func benchLongSelect() string {
	var b strings.Builder
	b.WriteString("/* report: orders by customer */ SELECT o.id, o.created_at, c.name AS customer, " +
		"COALESCE(SUM(l.quantity * l.unit_price), 0) AS total, COUNT(DISTINCT l.product_id) AS products, " +
		"DATE_FORMAT(o.created_at, '%Y-%m') AS month, JSON_UNQUOTE(JSON_EXTRACT(o.meta, '$.channel')) AS channel\n" +
		"FROM orders AS o\n" +
		"JOIN customers AS c ON c.id = o.customer_id\n" +
		"LEFT JOIN order_lines AS l ON l.order_id = o.id AND l.deleted_at IS NULL\n" +
		"LEFT JOIN products AS p ON p.id = l.product_id\n")
	for i := 0; b.Len() < 1700; i++ {
		fmt.Fprintf(&b, "LEFT JOIN warehouse_stock AS w%d ON w%d.product_id = p.id AND w%d.region = 'region-%d'\n", i, i, i, i)
	}
	b.WriteString("WHERE o.status IN ('paid', 'shipped', 'delivered') AND o.created_at >= ? AND o.created_at < ? " +
		"AND c.country = ? AND (p.category_id = ? OR p.category_id IS NULL) " +
		"AND o.id NOT IN (SELECT r.order_id FROM refunds AS r WHERE r.created_at >= ?) -- exclude refunds\n" +
		"GROUP BY o.id, o.created_at, c.name HAVING total > 0 ORDER BY total DESC, o.id LIMIT 100")
	return b.String()
}

func BenchmarkClassify(b *testing.B) {
	c := New("app.price_with_tax")
	long := benchLongSelect()
	for _, bc := range []struct{ name, q string }{
		{"ShortSelect", benchShortSelect},
		{"ShortInsert", benchShortInsert},
		{"LongSelect", long},
	} {
		b.Run(fmt.Sprintf("%s_%dB", bc.name, len(bc.q)), func(b *testing.B) {
			if r := c.Classify(bc.q); r.Replica != (bc.name != "ShortInsert") {
				b.Fatalf("unexpected classification of %q: %+v", bc.q, r)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.q)))
			for b.Loop() {
				_ = c.Classify(bc.q)
			}
		})
	}
}
