package golang

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
)

// TestReservedCoversTemplate checks that every exported name client.go.tmpl
// declares is reserved, so that no generated type can take it (a contract named
// drop or rejection gets Drop2 or Rejection2, not a clash).
func TestReservedCoversTemplate(t *testing.T) {
	src := strings.Replace(clientTemplate, "package PACKAGE", "package events", 1)
	f, err := parser.ParseFile(token.NewFileSet(), "client.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		var names []*ast.Ident
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				names = append(names, d.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					names = append(names, s.Name)
				case *ast.ValueSpec:
					names = append(names, s.Names...)
				}
			}
		}
		for _, n := range names {
			if n.IsExported() && !slices.Contains(reserved, n.Name) {
				t.Errorf("client.go.tmpl declares %s, which reserved lacks", n.Name)
			}
		}
	}
}
