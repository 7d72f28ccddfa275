package app

import (
	"encoding/json"

	"github.com/accord-dev/accord/internal/contract"
)

// CheckRegistry loads and compiles a registry, failing with every problem.
func CheckRegistry(dir string) (*contract.Snapshot, error) {
	return contract.LoadSnapshot(dir)
}

// ExampleEvent returns the first contract example (JSON Schema's root "examples"
// keyword) that is valid against its contract, as a self-describing event.
func ExampleEvent(snap *contract.Snapshot) ([]byte, bool) {
	for _, c := range snap.All() {
		if c.Lifecycle.Status == contract.StatusRetired {
			continue
		}
		examples, _ := c.Doc["examples"].([]any)
		for _, ex := range examples {
			if len(c.Validate(ex)) > 0 {
				continue
			}
			js, err := json.Marshal(map[string]any{"schema": c.Key.URI(), "data": ex})
			if err == nil {
				return js, true
			}
		}
	}
	return nil, false
}
