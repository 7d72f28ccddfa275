package jsonscan

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// shape returns the deepest nesting (the outermost container is level 1) and
// the longest string, keys included, of the valid document b, by the unbounded
// scanner.
func shape(t testing.TB, b []byte, i, depth int) (end, deepest, longest int) {
	t.Helper()
	switch b[i] {
	case '"':
		end, _, err := String(b, i)
		if err != nil {
			t.Fatal(err)
		}
		return end, 0, end - i - 2
	case '{':
		deepest = depth + 1
		end, err := Members(b, i, func(k []byte, _ bool, s, _ int) error {
			_, d, l := shape(t, b, s, depth+1)
			deepest, longest = max(deepest, d), max(longest, l, len(k))
			return nil
		}, depth+1)
		if err != nil {
			t.Fatal(err)
		}
		return end, deepest, longest
	case '[':
		deepest = depth + 1
		end, err := Elements(b, i, func(s, _ int) error {
			_, d, l := shape(t, b, s, depth+1)
			deepest, longest = max(deepest, d), max(longest, l)
			return nil
		}, depth+1)
		if err != nil {
			t.Fatal(err)
		}
		return end, deepest, longest
	}
	end, err := Value(b, i)
	if err != nil {
		t.Fatal(err)
	}
	return end, 0, 0
}

// checkLimits: a valid document passes a bounded scan exactly when it is
// within the bounds, and otherwise fails with ErrLimit; an invalid one fails.
func checkLimits(t *testing.T, b []byte, maxDepth, maxString int) {
	t.Helper()
	lim := Limits{MaxDepth: maxDepth, MaxString: maxString}
	start, end, err := Document(b)
	lend, lerr := lim.Value(b, start, 0)
	if err != nil {
		if lerr == nil && Space(b, lend) == len(b) {
			t.Fatalf("%q: invalid (%v), but the bounded scan passed it", b, err)
		}
		return
	}
	_, deepest, longest := shape(t, b, start, 0)
	within := (maxDepth <= 0 || deepest <= maxDepth) && (maxString <= 0 || longest <= maxString)
	switch {
	case within && (lerr != nil || lend != end):
		t.Fatalf("%q within %+v (depth %d, string %d): %v, end %d want %d", b, lim, deepest, longest, lerr, lend, end)
	case !within && !errors.Is(lerr, ErrLimit):
		t.Fatalf("%q over %+v (depth %d, string %d): got %v, want ErrLimit", b, lim, deepest, longest, lerr)
	}
}

func TestLimits(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		doc               string
		maxDepth, maxStr  int
		wantLimit, wantOK bool
	}{
		{doc: deep(3), maxDepth: 3, wantOK: true},
		{doc: deep(4), maxDepth: 3, wantLimit: true},
		{doc: `{"a":{"b":[1]}}`, maxDepth: 3, wantOK: true},
		{doc: `{"a":{"b":[{}]}}`, maxDepth: 3, wantLimit: true},
		{doc: `{"abcd":"wxyz"}`, maxStr: 4, wantOK: true},
		{doc: `{"abcde":"x"}`, maxStr: 4, wantLimit: true}, // a key
		{doc: `["x","vwxyz"]`, maxStr: 4, wantLimit: true},
		{doc: `"a\"bc"`, maxStr: 5, wantOK: true}, // bytes as written
		{doc: `"a\"bc"`, maxStr: 4, wantLimit: true},
		{doc: deep(20000), wantOK: false}, // encoding/json's bound still holds
	} {
		t.Run(fmt.Sprintf("%.20s/%d/%d", tc.doc, tc.maxDepth, tc.maxStr), func(t *testing.T) {
			lim := Limits{MaxDepth: tc.maxDepth, MaxString: tc.maxStr}
			end, err := lim.Value([]byte(tc.doc), 0, 0)
			if ok := err == nil && end == len(tc.doc); ok != tc.wantOK {
				t.Fatalf("ok %v (%v), want %v", ok, err, tc.wantOK)
			}
			if errors.Is(err, ErrLimit) != tc.wantLimit {
				t.Fatalf("err %v, want ErrLimit %v", err, tc.wantLimit)
			}
			if !tc.wantOK && !tc.wantLimit && err == nil {
				t.Fatal("passed")
			}
		})
	}
	// Members and WalkElements count levels as Value does.
	b := []byte(`{"a":[{"b":1}]}`)
	if _, err := (Limits{MaxDepth: 3}).Members(b, 0, skipMember, 1); err != nil {
		t.Errorf("Members at level 1 within 3: %v", err)
	}
	if _, err := (Limits{MaxDepth: 3}).Members(b, 0, skipMember, 2); !errors.Is(err, ErrLimit) {
		t.Errorf("Members at level 2 within 3: %v, want ErrLimit", err)
	}
	arr := []byte(`[{"a":[1]},{"b":[[1]]}]`)
	_, err := (Limits{MaxDepth: 3}).WalkElements(arr, 0, func(s int) (int, error) { return (Limits{MaxDepth: 3}).Value(arr, s, 1) }, 1)
	if !errors.Is(err, ErrLimit) {
		t.Errorf("WalkElements over 3 levels: %v, want ErrLimit", err)
	}
}

// FuzzLimits holds the bounded scan to the unbounded one on any bytes and bounds.
func FuzzLimits(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s), uint8(2), uint8(3))
	}
	f.Add([]byte(`{"ab":[["xyz"]]}`), uint8(3), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, depth, str uint8) {
		checkLimits(t, b, int(depth%12), int(str%40))
	})
}
