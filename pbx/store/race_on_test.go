//go:build race

package store

// raceBuild: -race also turns on checkptr, which aborts on bbolt's own
// pointer arithmetic over deliberately damaged pages.
const raceBuild = true
