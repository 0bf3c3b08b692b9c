package rwsplit_test

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rwsplit/rwsplit/rwsplittest"
)

// The documentation's Go snippets are type-checked here, so that the README
// and docs/*.md cannot show code that does not compile.
//
// Every fenced block names its language: ```go blocks are checked, any other
// tag (```sh, ```text, ```sql) is not, and an untagged fence is an error. A
// ```go block is one of three kinds, by its first line that is neither blank
// nor a comment:
//
//   - "package ...": a whole file, checked as it is;
//   - "func ...", "type ..." or "import ...": top-level declarations, put in a
//     file after snippetImports;
//   - anything else: statements, put in a function body whose parameters
//     (snippetParams) are the variables a fragment may use without declaring
//     them (db, ctx, sqlDB, sess, ...).
//
// "declared and not used" is not reported: a fragment may declare what it
// only shows. Positions are mapped back with //line directives, so an error
// names the .md file and line.

// snippetImports are the packages a fragment or declaration block may use
// without importing them.
const snippetImports = `package snippets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/rwsplit/rwsplit"
	"github.com/rwsplit/rwsplit/rwsplittest"
	"github.com/rwsplit/rwsplit/rwsplitx"
)

var (
	_ = context.Background
	_ = sql.Open
	_ = errors.Is
	_ = fmt.Println
	_ = log.Print
	_ = slog.Default
	_ = http.NewRequest
	_ = os.Getenv
	_ = testing.Short
	_ = time.Second
	_ = sqlx.In
	_ = rwsplit.Open
	_ = rwsplittest.Start
	_ = rwsplitx.Open
)
`

// snippetParams are the variables every fragment may use as if declared.
const snippetParams = `
	ctx context.Context, // the request's context
	db *rwsplit.DB, // an open router
	sqlDB *sql.DB, // sql.OpenDB(db.Connector())
	primary, pool *sql.DB, replicas []*sql.DB, // pools a caller opened
	primaryDSN string, replicaDSNs, dsns []string,
	sess *rwsplit.Session, tok rwsplit.Token,
	err error, id int64, n int, name string,
	secret, oldSecret []byte, // token keys
	logger *slog.Logger, r *http.Request, t *testing.T, c *rwsplittest.Cluster,
`

// snippet is one ```go block.
type snippet struct {
	file string // path relative to the module root
	line int    // line of the block's first code line
	code string
}

// docFiles are the Markdown files whose snippets are checked.
func docFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(docs)
	return append([]string{"README.md"}, docs...)
}

// fencedBlocks returns the fenced blocks of a Markdown file with their tag.
// A fence may be indented (inside a list item); its indentation is removed
// from the block's lines.
func fencedBlocks(t *testing.T, file string) (goBlocks []snippet) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	var (
		in     bool
		tag    string
		indent string
		start  int
		body   []string
	)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " \t")
		if !in {
			if strings.HasPrefix(trimmed, "```") {
				in, start, body = true, n+1, nil
				indent = line[:len(line)-len(trimmed)]
				tag = strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))
				if tag == "" {
					t.Errorf("%s:%d: fence without a language tag: use ```go for Go (checked) or ```text, ```sh, ```sql", file, n)
				}
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") && strings.TrimSpace(strings.TrimPrefix(trimmed, "```")) == "" {
			in = false
			if tag == "go" {
				goBlocks = append(goBlocks, snippet{file: file, line: start, code: strings.Join(body, "\n") + "\n"})
			}
			continue
		}
		body = append(body, strings.TrimPrefix(line, indent))
	}
	if in {
		t.Errorf("%s:%d: fence not closed", file, start-1)
	}
	return goBlocks
}

// snippetKind is "file", "decls" or "fragment" (see the comment above).
func snippetKind(code string) string {
	for _, l := range strings.Split(code, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "//") {
			continue
		}
		switch {
		case strings.HasPrefix(l, "package "):
			return "file"
		case strings.HasPrefix(l, "func "), strings.HasPrefix(l, "type "), strings.HasPrefix(l, "import "), l == "import (":
			return "decls"
		}
		return "fragment"
	}
	return "fragment"
}

// snippetSource is the Go file a snippet is checked as.
func snippetSource(s snippet) string {
	directive := fmt.Sprintf("//line %s:%d\n", s.file, s.line)
	switch snippetKind(s.code) {
	case "file":
		return directive + s.code
	case "decls":
		return snippetImports + directive + s.code
	}
	return snippetImports + "\nfunc _(" + snippetParams + ") error {\n\t{\n" + directive + s.code +
		"//line snippet-wrapper.go:1\n\t}\n\treturn nil\n}\n"
}

// exportData returns the export data file of every package the snippets
// may import, and their dependencies, built (or taken from the build cache)
// by go list -export.
func exportData(t *testing.T, imports []string) map[string]string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if rwsplittest.InCI() {
			t.Fatalf("no go command to build the snippets' imports: %v", err)
		}
		t.Skipf("no go command to build the snippets' imports: %v", err)
	}
	args := append([]string{"list", "-export", "-deps", "-f", "{{if .Export}}{{.ImportPath}}\t{{.Export}}{{end}}"}, imports...)
	cmd := exec.Command(goCmd, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export %s: %v\n%s", strings.Join(imports, " "), err, stderr.String())
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, file, ok := strings.Cut(l, "\t"); ok {
			m[path] = file
		}
	}
	return m
}

// TestReadmeSnippets type-checks every ```go block of README.md and docs/*.md
// against the current code.
func TestReadmeSnippets(t *testing.T) {
	var all []snippet
	for _, f := range docFiles(t) {
		all = append(all, fencedBlocks(t, f)...)
	}
	if len(all) == 0 {
		t.Fatal("no ```go block found")
	}

	// Parse every snippet first, to know what to import.
	fset := token.NewFileSet()
	files := make([]*ast.File, len(all))
	need := map[string]bool{}
	for i, s := range all {
		// The file's name is in the module root, so that the //line
		// directives' relative names stay relative to it.
		f, err := parser.ParseFile(fset, "snippet.go", snippetSource(s), parser.ParseComments)
		if err != nil {
			var msgs []string
			if list, ok := err.(scanner.ErrorList); ok {
				for _, e := range list {
					msgs = append(msgs, e.Error())
				}
			} else {
				msgs = append(msgs, err.Error())
			}
			t.Errorf("snippet at %s:%d does not parse:\n\t%s", s.file, s.line, strings.Join(msgs, "\n\t"))
			continue
		}
		files[i] = f
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			need[p] = true
		}
	}
	var imports []string
	for p := range need {
		imports = append(imports, p)
	}
	sort.Strings(imports)
	exports := exportData(t, imports)
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("package %s is not in this module's build list", path)
		}
		return os.Open(file)
	})

	for i, s := range all {
		if files[i] == nil {
			continue
		}
		var errs []string
		conf := types.Config{
			Importer: imp,
			Error: func(err error) {
				if te, ok := err.(types.Error); ok {
					if strings.Contains(te.Msg, "declared and not used") {
						return
					}
					errs = append(errs, fmt.Sprintf("%s: %s", fset.Position(te.Pos), te.Msg))
					return
				}
				errs = append(errs, err.Error())
			},
		}
		_, _ = conf.Check("snippets", fset, []*ast.File{files[i]}, nil)
		if len(errs) > 0 {
			t.Errorf("snippet at %s:%d does not compile:\n\t%s", s.file, s.line, strings.Join(errs, "\n\t"))
		}
	}
	t.Logf("%d snippets checked in %d files", len(all), len(docFiles(t)))
}

// TestReadmeLength keeps the README a user's page: the deep material lives
// in docs/.
func TestReadmeLength(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte("\n")); n > 350 {
		t.Errorf("README.md has %d lines, more than 350: move detail to docs/", n)
	}
}
