package collections

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// apiMethods are the operations the public contract names for Store (and,
// but for Update, for Tx): the collections section of the API document.
var apiMethods = strings.Fields(`
	HSet HGet HMGet HDel HExists HLen HGetAll HIncrBy HIncrByFloat HScan
	LPush RPush LPop RPop LLen LRange LIndex LSet LTrim LRem LInsert LMove
	SAdd SRem SIsMember SMembers SCard SPop SRandMember SInter SUnion SDiff
	ZAdd ZIncrBy ZScore ZRem ZCard ZCount ZRank ZRevRank ZRange ZRangeByScore
	ZRangeByLex ZPopMin ZPopMax ZRemRangeByRank ZRemRangeByScore
	Type Delete Expire TTL Persist Exists Rename`)

// TestAPIContract: Store and Tx offer every operation the contract names,
// Store offers Update, and both implement Cmdable.
func TestAPIContract(t *testing.T) {
	st, tx := reflect.TypeOf(&Store{}), reflect.TypeOf(&Tx{})
	for _, m := range apiMethods {
		_, ok := st.MethodByName(m)
		require.True(t, ok, "Store.%s", m)
		_, ok = tx.MethodByName(m)
		require.True(t, ok, "Tx.%s", m)
	}
	u, ok := st.MethodByName("Update")
	require.True(t, ok)
	require.Equal(t, "func(*collections.Store, func(*collections.Tx) error) error", u.Type.String())
	require.Equal(t, "func(*lsm.DB) *collections.Store", reflect.TypeOf(New).String())
	var _ Cmdable = (*Store)(nil)
	var _ Cmdable = (*Tx)(nil)
}

// TestGodoc: every exported name of the package has a doc comment: types,
// functions, methods of exported types, constants and variables (a group's
// comment covers its members), and struct fields (a field is covered by
// its own comment, by a comment on the fields above it that names it, or
// by its type's comment naming it). The methods of the Cmdable interface
// are those of Store, documented there.
func TestGodoc(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	require.NoError(t, err)
	var missing []string
	miss := func(pos token.Pos, what string) {
		missing = append(missing, fset.Position(pos).String()+": "+what)
	}
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if !d.Name.IsExported() || d.Doc != nil {
						continue
					}
					if d.Recv != nil && !exportedRecv(d.Recv) {
						continue
					}
					miss(d.Pos(), "func "+d.Name.Name)
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.TypeSpec:
							if !s.Name.IsExported() {
								continue
							}
							doc := d.Doc
							if s.Doc != nil {
								doc = s.Doc
							}
							if doc == nil {
								miss(s.Pos(), "type "+s.Name.Name)
								continue
							}
							if st, ok := s.Type.(*ast.StructType); ok {
								checkFields(st, doc.Text(), s.Name.Name, miss)
							}
						case *ast.ValueSpec:
							for _, n := range s.Names {
								if n.IsExported() && d.Doc == nil && s.Doc == nil && s.Comment == nil {
									miss(n.Pos(), n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
	require.Empty(t, missing, "exported names without a doc comment")
}

func exportedRecv(fl *ast.FieldList) bool {
	if len(fl.List) == 0 {
		return false
	}
	x := fl.List[0].Type
	if s, ok := x.(*ast.StarExpr); ok {
		x = s.X
	}
	id, ok := x.(*ast.Ident)
	return ok && id.IsExported()
}

// checkFields reports the exported fields of st that no comment names.
func checkFields(st *ast.StructType, typeDoc, typeName string, miss func(token.Pos, string)) {
	prev := ""
	for _, fl := range st.Fields.List {
		own := ""
		if fl.Doc != nil {
			own = fl.Doc.Text()
			prev = own
		}
		if fl.Comment != nil {
			own += fl.Comment.Text()
		}
		for _, n := range fl.Names {
			if !n.IsExported() || own != "" {
				continue
			}
			if strings.Contains(prev, n.Name) || strings.Contains(typeDoc, n.Name) {
				continue
			}
			miss(n.Pos(), typeName+"."+n.Name)
		}
	}
}
