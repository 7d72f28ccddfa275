package scrub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/contract"
)

// mapSealer seals into a map it keeps, so that a test can open what it sealed.
type mapSealer struct {
	mu     sync.Mutex
	values map[string]string
	scope  []string
	fail   error
}

func (m *mapSealer) Seal(_ context.Context, controller, subject string, values []string) ([]string, error) {
	if m.fail != nil {
		return nil, m.fail
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.values == nil {
		m.values = map[string]string{}
	}
	m.scope = append(m.scope, controller+"|"+subject)
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = fmt.Sprintf("sealed_%d", len(m.values))
		m.values[out[i]] = v
	}
	return out, nil
}

// open puts back the values sealed at ptrs.
func (m *mapSealer) open(t *testing.T, data any, ptrs []string) {
	t.Helper()
	for _, p := range ptrs {
		s, ok := contract.At(data, p).(string)
		if !ok || m.values[s] == "" {
			t.Fatalf("no sealed value at %s", p)
		}
		v, err := contract.DecodeJSON([]byte(m.values[s]))
		if err != nil {
			t.Fatal(err)
		}
		if err := contract.SetAt(data, p, v); err != nil {
			t.Fatal(err)
		}
	}
}

func newSealingScrubber(t *testing.T, sealer Sealer) *Scrubber {
	t.Helper()
	s, err := New(Config{HashSecret: testSecret}, Deps{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestSeal seals the bad row of TestRedact: the same pointers are replaced, by
// sealed values from which the event comes back exactly; it falls back to
// redacting when the values cannot be sealed.
func TestSeal(t *testing.T) {
	c := parseContract(t, "iglu:com.acme/everything/jsonschema/1-0-0", everything)
	const bad = `{"customer": {"email": "ann@example.com", "notes": "door code 1234", "user_id": "u_1", "name": null,
		"address": {"street": "1 High St"}}, "ip": {"v": "81.2.69.142"}, "orders": [{"recipient_email": "bob@example.com",
		"parcels": "none"}, "junk"], "fix": [1.23456, "x"], "extra": "kept"}`
	wantPtrs := []string{"/customer/email", "/customer/notes", "/customer/address", "/ip", "/orders/0/recipient_email", "/fix/0", "/fix/1"}

	m := &mapSealer{}
	s := newSealingScrubber(t, m)
	data := decode(t, []byte(bad))
	sealed, redacted, err := s.Seal(context.Background(), c, data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantPtrs, sealed); diff != "" || redacted != nil {
		t.Fatalf("sealed pointers (-want +got):\n%s\nredacted: %v", diff, redacted)
	}
	if diff := cmp.Diff([]string{"acme|ann@example.com"}, m.scope); diff != "" {
		t.Errorf("sealed under (-want +got):\n%s", diff)
	}
	js, _ := json.Marshal(data)
	for _, planted := range []string{"ann@example.com", "door code", "1 High St", "81.2.69.142", "bob@example.com", "1.23456"} {
		if strings.Contains(string(js), planted) {
			t.Errorf("the sealed row holds %q: %s", planted, js)
		}
	}
	m.open(t, data, sealed)
	if diff := cmp.Diff(decode(t, []byte(bad)), data); diff != "" {
		t.Errorf("unsealed row differs from the event (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name   string
		sealer Sealer
		event  string
	}{
		{"no sealer", nil, bad},
		{"sealer fails", &mapSealer{fail: errors.New("vault down")}, bad},
		{"no subject", m, strings.Replace(bad, `"email": "ann@example.com"`, `"email": {"x": 1}`, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSealingScrubber(t, tc.sealer)
			data := decode(t, []byte(tc.event))
			sealed, redacted, err := s.Seal(context.Background(), c, data)
			if err != nil {
				t.Fatal(err)
			}
			if sealed != nil || len(redacted) != len(wantPtrs) {
				t.Fatalf("sealed %v, redacted %v: want everything redacted", sealed, redacted)
			}
			if got := contract.At(data, "/customer/notes"); got != "<redacted:free_text>" {
				t.Errorf("notes = %v, want the placeholder", got)
			}
			if _, failed := tc.sealer.(*mapSealer); failed && tc.name == "sealer fails" && s.Stats().SealFailed != 1 {
				t.Errorf("SealFailed = %d, want 1", s.Stats().SealFailed)
			}
		})
	}
}
