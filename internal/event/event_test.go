package event

import (
	"testing"
	"time"
)

// TestDerivedTime is Snowplow's derived_tstamp, and what Accord does where it
// departs from it (a device time without a send time).
func TestDerivedTime(t *testing.T) {
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	received := *at("2026-12-08T12:00:10Z")
	for _, tc := range []struct {
		name                string
		sent, device, true_ *time.Time
		want                time.Time
	}{
		{"nothing but the collector's time", nil, nil, nil, received},
		{"a true timestamp wins", at("2026-12-08T12:00:05Z"), at("2026-12-08T12:00:00Z"), at("2026-12-01T00:00:00Z"), *at("2026-12-01T00:00:00Z")},
		{"created before sent: corrected by the device clock's skew", at("2026-12-08T22:00:05Z"), at("2026-12-08T22:00:00Z"), nil, *at("2026-12-08T12:00:05Z")},
		{"created when sent", at("2026-12-08T22:00:05Z"), at("2026-12-08T22:00:05Z"), nil, received},
		{"created after sent (a broken clock): the collector's time, never the future", at("2026-12-08T12:00:01Z"), at("2026-12-08T12:00:05Z"), nil, received},
		{"a device time alone (a backfill): as the producer says", nil, at("2024-12-07T19:46:40Z"), nil, *at("2024-12-07T19:46:40Z")},
	} {
		if got := DerivedTime(received, tc.sent, tc.device, tc.true_); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
