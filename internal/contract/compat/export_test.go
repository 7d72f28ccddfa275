package compat

// Untar exposes untar to the tests of package compat_test.
var Untar = untar
