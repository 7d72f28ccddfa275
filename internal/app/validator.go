package app

import (
	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/registry"
)

// newValidator builds the configured validation engine. The fast one forgets its
// compiled programs whenever the registry swaps its snapshot.
func newValidator(name string, reg *registry.Registry) (collect.Validator, error) {
	if name == registry.ValidatorReference {
		return collect.ReferenceValidator{}, nil
	}
	fv := collect.NewFastValidator()
	reg.Subscribe(func(*contract.Snapshot) { fv.Reset() })
	return fv, nil
}
