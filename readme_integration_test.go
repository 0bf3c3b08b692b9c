package rwsplit_test

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
)

// readmeQuickStart's body is the README's quick start, verbatim:
// TestReadmeQuickStart fails when the two differ.
func readmeQuickStart(ctx context.Context, primaryDSN string, replicaDSNs []string) error {
	db, err := rwsplit.Open("mysql", primaryDSN, replicaDSNs)
	if err != nil {
		return err
	}
	defer db.Close()

	// Reads through ctx wait on a replica for the writes made before them.
	ctx = rwsplit.WithConsistency(ctx, rwsplit.WaitGTID(time.Second))
	res, err := db.ExecContext(ctx, "INSERT INTO notes (body) VALUES (?)", "hello") // the primary
	if err != nil {
		return err
	}
	id, _ := res.LastInsertId()
	var body string
	err = db.QueryRowContext(ctx, "SELECT body FROM notes WHERE id = ?", id).Scan(&body) // a replica
	fmt.Println(body)
	return err
}

// quickStartBody returns readmeQuickStart's body from this file, one tab of
// indentation removed.
func quickStartBody(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("readme_integration_test.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "readme_integration_test.go", src, 0)
	require.NoError(t, err)
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "readmeQuickStart" {
			continue
		}
		body := string(src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset])
		var lines []string
		for _, l := range strings.Split(strings.Trim(body, "\n"), "\n") {
			lines = append(lines, strings.TrimPrefix(l, "\t"))
		}
		return strings.Join(lines, "\n") + "\n"
	}
	t.Fatal("readmeQuickStart not found")
	return ""
}

// readmeQuickStartBlock returns the first ```go block under the README's
// "## Quick start" heading.
func readmeQuickStartBlock(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(data), "\n## Quick start\n")
	require.True(t, ok, "README.md has no \"## Quick start\" section")
	_, block, ok := strings.Cut(section, "\n```go\n")
	require.True(t, ok, "the Quick start section has no ```go block")
	block, _, ok = strings.Cut(block, "\n```\n")
	require.True(t, ok, "the Quick start's ```go block is not closed")
	return block + "\n"
}

// TestReadmeQuickStart runs the README's quick start, verbatim, against a
// real cluster of each flavor: the insert goes to the primary and the
// WaitGTID read sees it. Without Docker (-short) it checks only that the
// README shows exactly readmeQuickStart's body.
func TestReadmeQuickStart(t *testing.T) {
	require.Equal(t, quickStartBody(t), readmeQuickStartBlock(t),
		"README.md's quick start and readmeQuickStart's body differ: change both")

	forEachFlavor(t, func(t *testing.T, c *rwsplittest.Cluster) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, err := c.Primary.Admin().ExecContext(ctx,
			"CREATE TABLE IF NOT EXISTS app.notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, body TEXT NOT NULL)")
		require.NoError(t, err)
		require.NoError(t, c.WaitCaughtUp(ctx))

		out := captureStdout(t, func() {
			require.NoError(t, readmeQuickStart(ctx, c.Primary.DSN(), c.ReplicaDSNs()))
		})
		require.Equal(t, "hello\n", out)
	})
}

// captureStdout returns what f printed on os.Stdout.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	saved := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		var b bytes.Buffer
		_, _ = io.Copy(&b, r)
		done <- b.Bytes()
	}()
	func() {
		defer func() { os.Stdout = saved; _ = w.Close() }()
		f()
	}()
	out := <-done
	_ = r.Close()
	return string(out)
}
