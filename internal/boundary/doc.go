// Package boundary holds no code: its test keeps the module's package
// boundaries honest.
//
// Who may use it: nobody; it exists for its test.
//
// The rule the test enforces: an exported identifier of a public package
// (one outside internal/) may not name a type of an internal package in
// its signature, its fields or its methods. Such an identifier would be
// exported in name only, since code outside the module cannot spell the
// type it needs; the fix is to move the type to a public package or to
// unexport the identifier.
package boundary
