package slab

import (
	"testing"

	"github.com/stratadb/strata/internal/invariants"
)

// TestDoubleFreePanics: in the invariants build, freeing a buffer twice
// panics, from a slab or from a mapping of its own.
func TestDoubleFreePanics(t *testing.T) {
	if !invariants.Enabled {
		t.Skip("checked in the invariants build only")
	}
	for _, separate := range []bool{false, true} {
		a := newAllocator(separate)
		b, err := a.Alloc(4200)
		if err != nil {
			t.Fatal(err)
		}
		keep, err := a.Alloc(4200) // keeps the slab mapped
		if err != nil {
			t.Fatal(err)
		}
		a.Free(b)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("separate=%v: a second Free did not panic", separate)
				}
			}()
			a.Free(b)
		}()
		a.Free(keep)
	}
}
