package rwsplit_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// apiFile is the checked-in listing of the root package's exported API.
const apiFile = "api/rwsplit.txt"

// TestAPIListing holds the public API still: the exported declarations of
// the root package (every type, func, method, const and var, and the exported
// fields and interface methods of exported types) must match api/rwsplit.txt
// line for line. A change to the surface is deliberate: run `make api`
// (RWSPLIT_UPDATE_API=1 go test -run TestAPIListing .) and commit the
// listing with the change, so that review sees it.
func TestAPIListing(t *testing.T) {
	got, idents, err := apiListing(".")
	if err != nil {
		t.Fatal(err)
	}
	header := fmt.Sprintf("# The exported API of package rwsplit: %d identifiers (types, funcs, methods, consts, vars;\n"+
		"# fields and interface methods, listed too, are not counted). Generated: make api.\n", idents)
	want := header + strings.Join(got, "\n") + "\n"
	if os.Getenv("RWSPLIT_UPDATE_API") != "" {
		if err := os.MkdirAll(filepath.Dir(apiFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(apiFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d identifiers", apiFile, idents)
		return
	}
	old, err := os.ReadFile(apiFile)
	if err != nil {
		t.Fatalf("%v: generate it with `make api`", err)
	}
	if string(old) == want {
		return
	}
	oldLines := strings.Split(strings.TrimSpace(string(old)), "\n")
	var added, removed []string
	for _, l := range got {
		if !slices.Contains(oldLines, l) {
			added = append(added, "+ "+l)
		}
	}
	for _, l := range oldLines {
		if !strings.HasPrefix(l, "#") && !slices.Contains(got, l) {
			removed = append(removed, "- "+l)
		}
	}
	t.Errorf("the exported API differs from %s (%d identifiers now):\n%s\n"+
		"If the change is deliberate, run `make api` and commit %s with it.",
		apiFile, idents, strings.Join(append(removed, added...), "\n"), apiFile)
}

// TestAPIDocumented: every exported declaration of the root package has a
// doc comment (what it does and what it costs is for review to judge).
func TestAPIDocumented(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	missing := func(pos token.Pos, name string) { t.Errorf("%s: %s has no doc comment", fset.Position(pos), name) }
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if !d.Name.IsExported() || d.Doc != nil {
						continue
					}
					if d.Recv != nil {
						recv := d.Recv.List[0].Type
						if s, ok := recv.(*ast.StarExpr); ok {
							recv = s.X
						}
						if id, ok := recv.(*ast.Ident); ok && !id.IsExported() {
							continue
						}
					}
					missing(d.Pos(), d.Name.Name)
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.TypeSpec:
							if s.Name.IsExported() && d.Doc == nil && s.Doc == nil {
								missing(s.Pos(), s.Name.Name)
							}
						case *ast.ValueSpec:
							for _, n := range s.Names {
								if n.IsExported() && d.Doc == nil && s.Doc == nil && s.Comment == nil {
									missing(n.Pos(), n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
}

// apiListing lists the exported declarations of the package in dir (test
// files excluded), one sorted line each, and counts the identifiers (types,
// funcs, methods of exported types, consts, vars).
func apiListing(dir string) (lines []string, idents int, err error) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		return nil, 0, err
	}
	src := func(n ast.Node) string {
		var b bytes.Buffer
		_ = printer.Fprint(&b, fset, n)
		return strings.Join(strings.Fields(b.String()), " ")
	}
	add := func(counted bool, format string, args ...any) {
		lines = append(lines, fmt.Sprintf(format, args...))
		if counted {
			idents++
		}
	}
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if !d.Name.IsExported() {
						continue
					}
					sig := strings.TrimPrefix(src(d.Type), "func")
					if d.Recv == nil {
						add(true, "func %s%s", d.Name.Name, sig)
						continue
					}
					recv := src(d.Recv.List[0].Type)
					if ast.IsExported(strings.TrimPrefix(recv, "*")) {
						add(true, "method (%s) %s%s", recv, d.Name.Name, sig)
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.TypeSpec:
							if !s.Name.IsExported() {
								continue
							}
							switch tt := s.Type.(type) {
							case *ast.StructType:
								add(true, "type %s struct", s.Name.Name)
								for _, fl := range tt.Fields.List {
									for _, n := range fl.Names {
										if n.IsExported() {
											add(false, "field %s.%s %s", s.Name.Name, n.Name, src(fl.Type))
										}
									}
								}
							case *ast.InterfaceType:
								add(true, "type %s interface", s.Name.Name)
								for _, m := range tt.Methods.List {
									for _, n := range m.Names {
										add(false, "imethod %s.%s%s", s.Name.Name, n.Name, strings.TrimPrefix(src(m.Type), "func"))
									}
								}
							default:
								add(true, "type %s %s", s.Name.Name, src(s.Type))
							}
						case *ast.ValueSpec:
							for _, n := range s.Names {
								if n.IsExported() {
									typ := ""
									if s.Type != nil {
										typ = " " + src(s.Type)
									}
									add(true, "%s %s%s", d.Tok, n.Name, typ)
								}
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(lines)
	return lines, idents, nil
}
