package lake

import (
	"testing"

	"github.com/accord-dev/accord/internal/event"
)

// LoadExamples and Records serve the package's external tests.
func LoadExamples(tb testing.TB) Contracts { return loadExamples(tb) }

func Records(tb testing.TB, envs []event.Envelope) [][]byte { return records(tb, envs) }
