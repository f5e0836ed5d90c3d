// Package refcount holds the one step of reference counting that lock-free
// readers share: taking a reference to something only while it still has
// one, so that a reader racing the last release never revives a freed
// object.
//
// Who may use it: the packages of this module only.
package refcount
