//go:build !unix

package vault_test

import "testing"

// cpuClock reports nothing where getrusage is not available.
type cpuClock struct{}

func startCPU(*testing.B) cpuClock { return cpuClock{} }

func (cpuClock) report(*testing.B) {}
