package main

import "github.com/stratadb/strata/internal/vfs"

// readOnlyFileSystem is the OS filesystem: on Windows a read-only open
// locks LOCK as a writable open does.
func readOnlyFileSystem() vfs.FS { return vfs.Default }
