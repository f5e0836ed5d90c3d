package boundary

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// listed is the part of `go list -json` the test reads.
type listed struct {
	ImportPath string
	Export     string
	Name       string
	Module     *struct{ Path string }
	Standard   bool
}

// TestPublicAPISelfContained fails for every exported identifier of a
// public package of the main module whose type mentions a type declared
// in an internal package (the package doc says why). It reads the
// compiler's export data, so it sees exactly what an importer sees.
func TestPublicAPISelfContained(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		var lerr error
		if goTool, lerr = exec.LookPath("go"); lerr != nil {
			t.Skip("no go command to list the module's packages")
		}
	}
	cmd := exec.Command(goTool, "list", "-export", "-deps", "-json", "github.com/stratadb/strata/...")
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	exports := map[string]string{}
	var public []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
		if p.Module != nil && p.Module.Path == "github.com/stratadb/strata" &&
			p.Name != "main" && !isInternal(p.ImportPath) {
			public = append(public, p.ImportPath)
		}
	}
	if len(public) == 0 {
		t.Fatal("go list found no public package")
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %q", path)
		}
		return os.Open(f)
	})
	sort.Strings(public)
	for _, path := range public {
		pkg, err := imp.Import(path)
		if err != nil {
			t.Fatalf("import %s: %v", path, err)
		}
		for _, v := range violations(pkg) {
			t.Errorf("%s", v)
		}
	}
}

func isInternal(path string) bool {
	return strings.Contains(path, "/internal/") || strings.HasSuffix(path, "/internal")
}

// violations lists, for one package, each exported identifier that names
// an internal type, as "pkg.Ident: mentions internal/x.T".
func violations(pkg *types.Package) []string {
	var out []string
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		where := pkg.Name() + "." + name
		if tn, ok := obj.(*types.TypeName); ok {
			out = append(out, typeViolations(where, tn.Type(), pkg)...)
			continue
		}
		for _, bad := range internalNames(obj.Type(), pkg) {
			out = append(out, where+": mentions "+bad)
		}
	}
	return out
}

// typeViolations checks a declared type: its underlying type's exported
// parts (fields, interface methods, function signature) and its exported
// methods, including those promoted from embedded fields.
func typeViolations(where string, t types.Type, pkg *types.Package) []string {
	var out []string
	report := func(what string, bads []string) {
		for _, bad := range bads {
			out = append(out, what+": mentions "+bad)
		}
	}
	if tn, ok := t.(*types.Alias); ok {
		report(where, internalNames(types.Unalias(tn), pkg))
		return out
	}
	report(where, exportedParts(t.Underlying(), pkg, map[types.Type]bool{}))
	seen := map[string]bool{}
	for _, recv := range []types.Type{t, types.NewPointer(t)} {
		ms := types.NewMethodSet(recv)
		for i := 0; i < ms.Len(); i++ {
			m := ms.At(i).Obj()
			if !m.Exported() || seen[m.Name()] {
				continue
			}
			seen[m.Name()] = true
			report(where+"."+m.Name(), internalNames(m.Type(), pkg))
		}
	}
	return out
}

// internalNames walks a type as an outside caller must spell it and
// returns the internal named types it reaches. A named type of another
// public package is that package's own business and is not entered; an
// unexported named type of pkg is entered, since its exported fields and
// methods are what the caller gets.
func internalNames(t types.Type, pkg *types.Package) []string {
	return walk(t, pkg, map[types.Type]bool{})
}

func walk(t types.Type, pkg *types.Package, seen map[types.Type]bool) []string {
	if t == nil || seen[t] {
		return nil
	}
	seen[t] = true
	switch t := t.(type) {
	case *types.Alias:
		return walk(types.Unalias(t), pkg, seen)
	case *types.Named:
		obj := t.Obj()
		if obj.Pkg() == nil { // error, comparable
			return nil
		}
		var out []string
		if isInternal(obj.Pkg().Path()) {
			out = append(out, obj.Pkg().Path()+"."+obj.Name())
		}
		if targs := t.TypeArgs(); targs != nil {
			for i := 0; i < targs.Len(); i++ {
				out = append(out, walk(targs.At(i), pkg, seen)...)
			}
		}
		if obj.Pkg() == pkg && !obj.Exported() {
			out = append(out, exportedParts(t.Underlying(), pkg, seen)...)
			for i := 0; i < t.NumMethods(); i++ {
				if m := t.Method(i); m.Exported() {
					out = append(out, walk(m.Type(), pkg, seen)...)
				}
			}
		}
		return out
	case *types.Pointer:
		return walk(t.Elem(), pkg, seen)
	case *types.Slice:
		return walk(t.Elem(), pkg, seen)
	case *types.Array:
		return walk(t.Elem(), pkg, seen)
	case *types.Map:
		return append(walk(t.Key(), pkg, seen), walk(t.Elem(), pkg, seen)...)
	case *types.Chan:
		return walk(t.Elem(), pkg, seen)
	case *types.Signature:
		var out []string
		for _, tup := range []*types.Tuple{t.Params(), t.Results()} {
			for i := 0; i < tup.Len(); i++ {
				out = append(out, walk(tup.At(i).Type(), pkg, seen)...)
			}
		}
		return out
	case *types.Struct, *types.Interface:
		return exportedParts(t, pkg, seen)
	}
	return nil
}

// exportedParts walks what an outsider can reach of an underlying type:
// a struct's exported (and embedded) fields, an interface's exported
// methods, or the type itself for anything else.
func exportedParts(t types.Type, pkg *types.Package, seen map[types.Type]bool) []string {
	switch u := t.(type) {
	case *types.Struct:
		var out []string
		for i := 0; i < u.NumFields(); i++ {
			if f := u.Field(i); f.Exported() || f.Embedded() {
				out = append(out, walk(f.Type(), pkg, seen)...)
			}
		}
		return out
	case *types.Interface:
		var out []string
		for i := 0; i < u.NumMethods(); i++ {
			if m := u.Method(i); m.Exported() {
				out = append(out, walk(m.Type(), pkg, seen)...)
			}
		}
		return out
	}
	return walk(t, pkg, seen)
}
