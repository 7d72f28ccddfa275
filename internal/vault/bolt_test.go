package vault_test

import (
	"path/filepath"
	"testing"

	"github.com/accord-dev/accord/internal/vault"
	"github.com/accord-dev/accord/internal/vault/vaulttest"
)

func TestBoltConformance(t *testing.T) {
	dir := t.TempDir()
	vaulttest.Run(t, func(t testing.TB, name string) vault.Store {
		t.Helper()
		s, err := vault.OpenBolt(filepath.Join(dir, name+".db"), vault.BoltOptions{})
		if err != nil {
			t.Fatalf("OpenBolt: %v", err)
		}
		return s
	})
}
