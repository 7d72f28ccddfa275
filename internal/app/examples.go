package app

import (
	"encoding/json"
	"fmt"
	"strings"

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

// ExampleCurl is a copy-paste command that sends a valid example event.
func ExampleCurl(snap *contract.Snapshot, base string) string {
	ev, ok := ExampleEvent(snap)
	if !ok {
		return fmt.Sprintf("curl -s %s/v1/events -d '{\"schema\": \"iglu:<vendor>/<name>/jsonschema/1-0-0\", \"data\": {...}}'   (add `examples:` to a contract to get a ready one here)", base)
	}
	return fmt.Sprintf("curl -s %s/v1/events -H 'Content-Type: application/json' -d '%s'", base, strings.ReplaceAll(string(ev), "'", `'\''`))
}
