package scrub

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/contract"
)

// TestSealAll: every value under the pointers is sealed under the scope given,
// keys and nulls and what lies elsewhere stay; opening the values gives the
// data back. A value too long to seal, or every value when sealing fails or
// there is no sealer, is redacted.
func TestSealAll(t *testing.T) {
	const doc = `{"m":{"type":"track","user_id":"u-1","properties":{"email":"a@example.com","n":12.5,"ok":true,"none":null,"list":["x",{"k/~":1}]},"ip":"81.2.69.142"},"other":"kept"}`
	decode := func() any {
		v, err := contract.DecodeJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	under := []string{"/m/user_id", "/m/properties", "/m/ip", "/m/absent"}
	sealer := &mapSealer{}
	s, err := New(Config{HashSecret: testSecret}, Deps{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	data := decode()
	sealed, redacted := s.SealAll(context.Background(), "acme", "u-1", data, under)
	want := []string{"/m/user_id", "/m/properties/email", "/m/properties/list/0", "/m/properties/list/1/k~1~0", "/m/properties/n", "/m/properties/ok", "/m/ip"}
	if diff := cmp.Diff(want, sealed); diff != "" || len(redacted) != 0 {
		t.Fatalf("sealed (-want +got):\n%s\nredacted %v", diff, redacted)
	}
	if got := contract.At(data, "/m/type"); got != "track" || contract.At(data, "/other") != "kept" {
		t.Errorf("values outside the pointers changed: %v", data)
	}
	if props := contract.At(data, "/m/properties").(map[string]any); props["none"] != nil || len(props) != 5 {
		t.Errorf("the null or a key changed: %v", props)
	}
	if fmtScope := strings.Join(sealer.scope, ","); fmtScope != "acme|u-1" {
		t.Errorf("sealed under %s, want one call under acme|u-1", fmtScope)
	}
	sealer.open(t, data, sealed)
	if diff := cmp.Diff(decode(), data); diff != "" {
		t.Errorf("opened (-want +got):\n%s", diff)
	}

	// A value too long to seal is redacted; the others are sealed.
	data = decode()
	long := strings.Repeat("x", MaxSealLen)
	contract.SetAt(data, "/m/ip", long)
	sealed, redacted = s.SealAll(context.Background(), "acme", "u-1", data, under)
	if len(sealed) != 6 || cmp.Diff([]string{"/m/ip"}, redacted) != "" || contract.At(data, "/m/ip") != Redacted {
		t.Errorf("too long: sealed %v, redacted %v", sealed, redacted)
	}

	// Sealing fails, or there is no sealer, or no subject: all redacted.
	failing, err := New(Config{HashSecret: testSecret}, Deps{Sealer: &mapSealer{fail: errors.New("vault down")}})
	if err != nil {
		t.Fatal(err)
	}
	none, err := New(Config{HashSecret: testSecret}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		s                   *Scrubber
		controller, subject string
	}{"failing": {failing, "acme", "u-1"}, "no sealer": {none, "acme", "u-1"}, "no subject": {s, "acme", ""}} {
		data := decode()
		sealed, redacted := c.s.SealAll(context.Background(), c.controller, c.subject, data, under)
		if len(sealed) != 0 || cmp.Diff(want, redacted) != "" || contract.At(data, "/m/properties/email") != Redacted {
			t.Errorf("%s: sealed %v, redacted %v", name, sealed, redacted)
		}
	}
	if got := failing.Stats().SealFailed; got != 1 {
		t.Errorf("SealFailed %d after a failed seal, want 1", got)
	}
}
