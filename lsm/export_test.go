package lsm

// Hooks for the tests of package lsm_test (the external test package,
// which can import internal/dbtest: dbtest imports lsm, so the tests of
// package lsm itself cannot).

// VersionInvariantsForTest returns the first broken invariant of db's
// current version (manifest.Version.CheckInvariants), or nil.
func VersionInvariantsForTest(db *DB) error {
	v := db.vs.Current()
	defer v.Unref()
	return v.CheckInvariants()
}
