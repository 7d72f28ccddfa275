package collect

import (
	"strings"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/contract"
)

// TestDeprecation: an event of a deprecated contract is told the sunset date
// to come, or that it has passed (not that the contract "will be retired" on
// a day gone by), and what to move to.
func TestDeprecation(t *testing.T) {
	c := &contract.Compiled{Contract: &contract.Contract{
		Key:       contract.Key{Vendor: "com.acme", Name: "signup", Format: "jsonschema", Version: contract.SchemaVer{Model: 1}},
		Lifecycle: contract.Lifecycle{Status: contract.StatusDeprecated, Sunset: "2026-01-01", ReplacedBy: "iglu:com.acme/signup/jsonschema/2-0-0"},
	}}
	day := func(s string) time.Time {
		d, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{day("2025-12-31T12:00:00Z"), "is deprecated and will be retired after 2026-01-01; move to iglu:com.acme/signup/jsonschema/2-0-0"},
		{day("2026-01-01T23:59:59Z"), "will be retired after 2026-01-01"},
		{day("2026-01-02T00:00:00Z"), "is deprecated; its sunset date 2026-01-01 has passed: it may be retired, and its events refused, at any time; move to"},
		{day("2026-12-08T10:00:00+05:00"), "has passed"},
	} {
		if got := deprecation(c, tc.now); !strings.Contains(got, tc.want) {
			t.Errorf("at %v: %q, want it to say %q", tc.now, got, tc.want)
		}
	}
	c.Lifecycle.Status = contract.StatusActive
	if got := deprecation(c, day("2027-01-01T00:00:00Z")); got != "" {
		t.Errorf("an active contract warns %q", got)
	}
}
