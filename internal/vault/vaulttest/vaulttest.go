// Package vaulttest is the conformance suite that every vault.Store passes.
package vaulttest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/accord-dev/accord/internal/vault"
	"github.com/google/go-cmp/cmp"
)

// Opener opens the store called name for test t. The first call for a name returns an
// empty store; a later call with the same name, after the store returned before was
// closed, opens the same data again. The opener cleans up what it created (with
// t.Cleanup on the test that created it); the suite closes every store it opens.
type Opener func(t testing.TB, name string) vault.Store

// Run runs the conformance suite against the stores that open returns.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"Consistency", testConsistency},
		{"TokenizeAll", testTokenizeAll},
		{"ShopifyExample", testShopifyExample},
		{"ForgetThenRetokenize", testForgetThenRetokenize},
		{"ManyValuesPerSubject", testManyValuesPerSubject},
		{"ForgetUnknownSubject", testForgetUnknownSubject},
		{"DetokenizeErrors", testDetokenizeErrors},
		{"SealUnseal", testSealUnseal},
		{"CheckSealed", testCheckSealed},
		{"RejectsEmptyScope", testRejectsEmptyScope},
		{"ConcurrentNewSubjectConvergesToOneKey", testConcurrentNewSubject},
		{"ConcurrentTokenizeAndForget", testConcurrentTokenizeAndForget},
		{"StoreRaces", testStoreRaces},
		{"Audit", testAudit},
		{"Stats", testStats},
		{"PersistsAcrossReopen", testPersistsAcrossReopen},
		{"WrongMasterKey", testWrongMasterKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, &harness{open: open, name: sanitize(t.Name()), master: randomKey(t)})
		})
	}
}

type harness struct {
	open   Opener
	name   string
	master []byte
}

// vault opens the test's store and a vault on it, closed when the test ends.
func (h *harness) vault(t testing.TB) *vault.Vault {
	t.Helper()
	v, err := vault.New(context.Background(), h.open(t, h.name), vault.Options{MasterKey: h.master})
	if err != nil {
		t.Fatalf("vault.New: %v", err)
	}
	t.Cleanup(func() {
		if err := v.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return v
}

func sanitize(name string) string {
	return strings.NewReplacer("/", "_", " ", "_").Replace(name)
}

func randomKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, vault.MasterKeyLen)
	if _, err := rand.Read(k); err != nil {
		t.Fatalf("reading a random key: %v", err)
	}
	return k
}

func tokenize(t testing.TB, v *vault.Vault, controller, subject, value string) string {
	t.Helper()
	tok, err := v.Tokenize(context.Background(), controller, subject, value)
	if err != nil {
		t.Fatalf("Tokenize: %v", err)
	}
	if _, err := vault.ParseToken(tok); err != nil {
		t.Fatalf("Tokenize returned %q, which does not parse: %v", tok, err)
	}
	return tok
}

func forget(t testing.TB, v *vault.Vault, subject, controller string) vault.ForgetResult {
	t.Helper()
	res, err := v.Forget(context.Background(), "test", subject, controller)
	if err != nil {
		t.Fatalf("Forget: %v", err)
	}
	return res
}

// outcome is a Detokenized result in a comparable form.
type outcome struct {
	Value string
	Err   string
}

func detokenize(t testing.TB, v *vault.Vault, tokens ...string) []outcome {
	t.Helper()
	res, err := v.Detokenize(context.Background(), "test", tokens)
	if err != nil {
		t.Fatalf("Detokenize: %v", err)
	}
	if len(res) != len(tokens) {
		t.Fatalf("Detokenize returned %d results for %d tokens", len(res), len(tokens))
	}
	for i, r := range res {
		if r.Token != tokens[i] {
			t.Errorf("result %d is for token %q, want %q", i, r.Token, tokens[i])
		}
	}
	return outcomesOf(res)
}

// outcomesOf puts Detokenize's or Unseal's results in a comparable form.
func outcomesOf(res []vault.Detokenized) []outcome {
	out := make([]outcome, len(res))
	for i, r := range res {
		out[i].Value = r.Value
		switch {
		case r.Err == nil:
		case errors.Is(r.Err, vault.ErrForgotten):
			out[i].Err = "forgotten"
		case errors.Is(r.Err, vault.ErrUnknownToken):
			out[i].Err = "unknown"
		case errors.Is(r.Err, vault.ErrMalformedToken):
			out[i].Err = "malformed"
		default:
			out[i].Err = r.Err.Error()
		}
	}
	return out
}

func testConsistency(t *testing.T, h *harness) {
	v := h.vault(t)
	a1 := tokenize(t, v, "shop-a", "alice@example.com", "alice@example.com")
	a2 := tokenize(t, v, "shop-a", "alice@example.com", "alice@example.com")
	if a1 != a2 {
		t.Errorf("same value, controller and subject gave %q then %q", a1, a2)
	}
	phone := tokenize(t, v, "shop-a", "alice@example.com", "+1 555 0100")
	if phone == a1 {
		t.Errorf("two values of one subject share token %q", a1)
	}
	bob := tokenize(t, v, "shop-a", "bob@example.com", "alice@example.com")
	if bob == a1 {
		t.Errorf("the same value under two subjects got one token %q", a1)
	}
	empty := tokenize(t, v, "shop-a", "alice@example.com", "")
	got := detokenize(t, v, a1, phone, bob, empty)
	want := []outcome{{Value: "alice@example.com"}, {Value: "+1 555 0100"}, {Value: "alice@example.com"}, {Value: ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Detokenize (-want +got):\n%s", diff)
	}
	// Alice's three values are under one key, and Bob's value is not.
	if res := forget(t, v, "alice@example.com", "shop-a"); res.KeysDestroyed != 1 || res.TokensDestroyed != 3 {
		t.Errorf("forgetting alice destroyed %d keys and %d tokens, want 1 and 3", res.KeysDestroyed, res.TokensDestroyed)
	}
	got = detokenize(t, v, a1, phone, bob, empty)
	want = []outcome{{Err: "forgotten"}, {Err: "forgotten"}, {Value: "alice@example.com"}, {Err: "forgotten"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Detokenize after forgetting alice (-want +got):\n%s", diff)
	}
}

func testTokenizeAll(t *testing.T, h *harness) {
	v := h.vault(t)
	ctx := context.Background()
	values := []string{"carol@example.com", "+44 20 7946 0000", "carol@example.com", "Carol"}
	toks, err := v.TokenizeAll(ctx, "shop-a", "carol", values)
	if err != nil {
		t.Fatalf("TokenizeAll: %v", err)
	}
	if toks[0] != toks[2] {
		t.Errorf("a value repeated in one call got %q then %q", toks[0], toks[2])
	}
	for i, val := range values {
		if one := tokenize(t, v, "shop-a", "carol", val); one != toks[i] {
			t.Errorf("value %d: Tokenize gave %q, TokenizeAll %q", i, one, toks[i])
		}
	}
	again, err := v.TokenizeAll(ctx, "shop-a", "carol", values)
	if err != nil {
		t.Fatalf("TokenizeAll again: %v", err)
	}
	if diff := cmp.Diff(toks, again); diff != "" {
		t.Errorf("TokenizeAll twice (-first +second):\n%s", diff)
	}
	got := detokenize(t, v, toks...)
	for i, o := range got {
		if o != (outcome{Value: values[i]}) {
			t.Errorf("token %d detokenized to %+v, want %q", i, o, values[i])
		}
	}
}

// testShopifyExample is the example of "Schematizing Deletion at Scale": a buyer
// shops on two shops; each shop (a data controller) sees its own token for the same
// email; forgetting the buyer at one shop leaves the other shop's token alive;
// forgetting the buyer everywhere kills both.
func testShopifyExample(t *testing.T, h *harness) {
	v := h.vault(t)
	const email = "buyer@example.com"
	atA := tokenize(t, v, "shop-a", email, email)
	atB := tokenize(t, v, "shop-b", email, email)
	if atA == atB {
		t.Fatalf("one email under two shops got one token %q", atA)
	}
	if diff := cmp.Diff([]outcome{{Value: email}, {Value: email}}, detokenize(t, v, atA, atB)); diff != "" {
		t.Fatalf("before any forget (-want +got):\n%s", diff)
	}

	res := forget(t, v, email, "shop-b")
	if diff := cmp.Diff(vault.ForgetResult{KeysDestroyed: 1, TokensDestroyed: 1, Controller: v.ControllerRef("shop-b")}, res); diff != "" {
		t.Errorf("forget at shop B (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]outcome{{Value: email}, {Err: "forgotten"}}, detokenize(t, v, atA, atB)); diff != "" {
		t.Errorf("after forgetting at shop B (-want +got):\n%s", diff)
	}
	if again := tokenize(t, v, "shop-a", email, email); again != atA {
		t.Errorf("shop A's token changed from %q to %q by a forget at shop B", atA, again)
	}

	res = forget(t, v, email, "")
	if diff := cmp.Diff(vault.ForgetResult{KeysDestroyed: 1, TokensDestroyed: 1, Controller: "*"}, res); diff != "" {
		t.Errorf("forget everywhere (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]outcome{{Err: "forgotten"}, {Err: "forgotten"}}, detokenize(t, v, atA, atB)); diff != "" {
		t.Errorf("after forgetting everywhere (-want +got):\n%s", diff)
	}
}

func testForgetThenRetokenize(t *testing.T, h *harness) {
	v := h.vault(t)
	const subject = "dave@example.com"
	before := map[string]string{}
	for _, c := range []string{"shop-a", "shop-b", "shop-c"} {
		before[c] = tokenize(t, v, c, subject, subject)
	}
	tokenize(t, v, "shop-a", subject, "Dave")
	res := forget(t, v, subject, "")
	if res.KeysDestroyed != 3 || res.TokensDestroyed != 4 {
		t.Errorf("forget everywhere destroyed %d keys and %d tokens, want 3 and 4", res.KeysDestroyed, res.TokensDestroyed)
	}
	for c, old := range before {
		fresh := tokenize(t, v, c, subject, subject)
		if fresh == old {
			t.Errorf("%s: after forget the subject still gets token %q", c, old)
		}
		if diff := cmp.Diff([]outcome{{Err: "forgotten"}, {Value: subject}}, detokenize(t, v, old, fresh)); diff != "" {
			t.Errorf("%s: old and new token (-want +got):\n%s", c, diff)
		}
	}
}

func testForgetUnknownSubject(t *testing.T, h *harness) {
	v := h.vault(t)
	tokenize(t, v, "shop-a", "erin", "erin@example.com")
	if res := forget(t, v, "nobody", ""); res.KeysDestroyed != 0 || res.TokensDestroyed != 0 {
		t.Errorf("forgetting an unknown subject destroyed %+v", res)
	}
	if res := forget(t, v, "erin", "shop-z"); res.KeysDestroyed != 0 {
		t.Errorf("forgetting a subject at a controller it never used destroyed %+v", res)
	}
	if got := tokenize(t, v, "shop-a", "erin", "erin@example.com"); detokenize(t, v, got)[0].Value != "erin@example.com" {
		t.Errorf("a forget of other subjects broke erin's token")
	}
}

func testDetokenizeErrors(t *testing.T, h *harness) {
	v := h.vault(t)
	live, err := vault.ParseToken(tokenize(t, v, "shop-a", "frank", "frank@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	// A token whose MAC is changed (its last byte is MAC in every version), and one
	// whose key part is.
	forged, strange := live, live
	forged.Body[len(forged.Body)-1] ^= 1
	strange.Body[0] ^= 1
	got := detokenize(t, v, "frank@example.com", live.String(), forged.String(), strange.String(), strings.ToUpper(live.String()))
	want := []outcome{{Err: "malformed"}, {Value: "frank@example.com"}, {Err: "unknown"}, {Err: "unknown"}, {Err: "malformed"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Detokenize (-want +got):\n%s", diff)
	}
	if _, err := v.Detokenize(context.Background(), "", []string{live.String()}); !errors.Is(err, vault.ErrEmptyActor) {
		t.Errorf("Detokenize without actor: got %v, want ErrEmptyActor", err)
	}
	if _, err := v.Forget(context.Background(), "", "frank", ""); !errors.Is(err, vault.ErrEmptyActor) {
		t.Errorf("Forget without actor: got %v, want ErrEmptyActor", err)
	}
}

func testRejectsEmptyScope(t *testing.T, h *harness) {
	v := h.vault(t)
	ctx := context.Background()
	for _, tc := range []struct {
		controller, subject, value string
		want                       error
	}{
		{"shop-a", "", "x", vault.ErrEmptySubject},
		{"", "grace", "x", vault.ErrEmptyController},
		{"shop-a", "grace", strings.Repeat("x", vault.MaxValueLen+1), vault.ErrValueTooLong},
	} {
		if _, err := v.Tokenize(ctx, tc.controller, tc.subject, tc.value); !errors.Is(err, tc.want) {
			t.Errorf("Tokenize(%q, %q, %d bytes): got %v, want %v", tc.controller, tc.subject, len(tc.value), err, tc.want)
		}
	}
	if _, err := v.Forget(ctx, "test", "", "shop-a"); !errors.Is(err, vault.ErrEmptySubject) {
		t.Errorf("Forget with empty subject: got %v, want ErrEmptySubject", err)
	}
}

// sharedStore lets several vaults use one store, as several processes share one
// Postgres vault; only the owner closes it.
type sharedStore struct{ vault.Store }

func (sharedStore) Close() error { return nil }

func testConcurrentNewSubject(t *testing.T, h *harness) {
	store := h.open(t, h.name)
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	const workers = 16
	vaults := make([]*vault.Vault, workers)
	for i := range vaults {
		v, err := vault.New(context.Background(), sharedStore{store}, vault.Options{MasterKey: h.master})
		if err != nil {
			t.Fatalf("vault.New: %v", err)
		}
		t.Cleanup(func() {
			if err := v.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		vaults[i] = v
	}
	for round := range 5 {
		subject := fmt.Sprintf("new-subject-%d", round)
		toks := make([]string, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range workers {
			wg.Go(func() {
				<-start
				// Half the workers tokenize the email, half the phone: both must end
				// up under the one key that wins.
				val := "email"
				if i%2 == 1 {
					val = "phone"
				}
				toks[i], errs[i] = vaults[i].Tokenize(context.Background(), "shop-a", subject, val)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("worker %d: %v", i, err)
			}
		}
		for i, tok := range toks {
			if tok != toks[i%2] {
				t.Errorf("round %d: worker %d got %q, worker %d %q for the same value", round, i, tok, i%2, toks[i%2])
			}
		}
		if diff := cmp.Diff([]outcome{{Value: "email"}, {Value: "phone"}}, detokenize(t, vaults[0], toks[0], toks[1])); diff != "" {
			t.Errorf("round %d (-want +got):\n%s", round, diff)
		}
		// Both values ended up under the one key that won.
		if res := forget(t, vaults[0], subject, "shop-a"); res.KeysDestroyed != 1 || res.TokensDestroyed != 2 {
			t.Errorf("round %d: the forget destroyed %d keys and %d tokens, want 1 and 2", round, res.KeysDestroyed, res.TokensDestroyed)
		}
	}
}

// testConcurrentTokenizeAndForget races tokenizes of a few subjects with forgets of
// them (five of each subject, fewer than a tokenize's attempts). Whatever the
// interleaving, tokenize never fails, and every token it returned either
// detokenizes to its value or is forgotten.
func testConcurrentTokenizeAndForget(t *testing.T, h *harness) {
	v := h.vault(t)
	ctx := context.Background()
	type issued struct{ token, value string }
	var mu sync.Mutex
	var all []issued
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 40 {
				subject := fmt.Sprintf("s%d", i%4)
				value := fmt.Sprintf("v%d", (w+i)%3)
				tok, err := v.Tokenize(ctx, "shop-a", subject, value)
				if err != nil {
					errs <- fmt.Errorf("Tokenize: %w", err)
					return
				}
				mu.Lock()
				all = append(all, issued{tok, value})
				mu.Unlock()
			}
		})
	}
	for w := range 2 {
		wg.Go(func() {
			for i := range 10 {
				controller := ""
				if i%2 == 0 {
					controller = "shop-a"
				}
				if _, err := v.Forget(ctx, "test", fmt.Sprintf("s%d", (w+i)%4), controller); err != nil {
					errs <- fmt.Errorf("Forget: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	toks := make([]string, len(all))
	for i, is := range all {
		toks[i] = is.token
	}
	for i, o := range detokenize(t, v, toks...) {
		if o.Err == "" && o.Value != all[i].value {
			t.Errorf("token %d detokenized to a value that is not the one tokenized", i)
		}
		if o.Err != "" && o.Err != "forgotten" {
			t.Errorf("token %d: %s, want a value or forgotten", i, o.Err)
		}
	}
}

// testStoreRaces checks the store contract the vault relies on to resolve races:
// insert-if-absent keys, refused writes under a forgotten key, and no reuse of ids.
func testStoreRaces(t *testing.T, h *harness) {
	s := h.open(t, h.name)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	ctx := context.Background()
	if err := s.BindMasterKey(ctx, []byte("fingerprint-1")); err != nil {
		t.Fatalf("BindMasterKey: %v", err)
	}
	rec := vault.KeyRecord{ID: vault.KeyID{1}, Pair: vault.PairID{2}, Wrapped: make([]byte, 60)}
	m := vault.Mapping{MAC: vault.MAC{5}, Sealed: []byte("sealed")}
	got, err := s.CreateKey(ctx, rec, []vault.Mapping{m})
	if err != nil || got.ID != rec.ID {
		t.Fatalf("CreateKey: %v, %v", got.ID, err)
	}
	other := rec
	other.ID = vault.KeyID{9}
	lost := vault.Mapping{MAC: vault.MAC{6}, Sealed: []byte("lost")}
	if got, err := s.CreateKey(ctx, other, []vault.Mapping{lost}); err != nil || got.ID != rec.ID {
		t.Errorf("CreateKey for a pair that has a key: got key %s, %v; want the existing key %s", got.ID, err, rec.ID)
	}
	_, sealed, err := s.Mappings(ctx, rec.ID, []vault.MAC{m.MAC, lost.MAC})
	if err != nil {
		t.Fatalf("Mappings: %v", err)
	}
	if diff := cmp.Diff([][]byte{[]byte("sealed"), nil}, sealed); diff != "" {
		t.Errorf("mappings after a won and a lost CreateKey (-want +got):\n%s", diff)
	}
	if _, _, err := s.Mappings(ctx, other.ID, []vault.MAC{lost.MAC}); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Mappings under the key that lost: got %v, want ErrNotFound", err)
	}
	sameID := rec
	sameID.Pair = vault.PairID{4}
	if _, err := s.CreateKey(ctx, sameID, nil); !errors.Is(err, vault.ErrKeyIDTaken) {
		t.Errorf("CreateKey with a used id: got %v, want ErrKeyIDTaken", err)
	}
	if err := s.PutMappings(ctx, rec.ID, []vault.Mapping{m, m}); err != nil {
		t.Fatalf("PutMappings: %v", err)
	}
	if _, err := s.Forget(ctx, vault.ForgetRequest{Subject: rec.Pair.Subject(), Pair: &rec.Pair, Audit: vault.AuditEntry{Actor: "test", Action: vault.ActionForget}}); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	if err := s.PutMappings(ctx, rec.ID, []vault.Mapping{m}); !errors.Is(err, vault.ErrForgotten) {
		t.Errorf("PutMappings under a forgotten key: got %v, want ErrForgotten", err)
	}
	if err := s.PutMappings(ctx, vault.KeyID{7}, []vault.Mapping{m}); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("PutMappings under an unknown key: got %v, want ErrNotFound", err)
	}
	if _, err := s.CreateKey(ctx, vault.KeyRecord{ID: rec.ID, Pair: vault.PairID{8}, Wrapped: rec.Wrapped}, nil); !errors.Is(err, vault.ErrKeyIDTaken) {
		t.Errorf("CreateKey reusing a forgotten id: got %v, want ErrKeyIDTaken", err)
	}
	if _, err := s.KeyByPair(ctx, rec.Pair); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("KeyByPair after forget: got %v, want ErrNotFound", err)
	}
	if _, _, err := s.Mappings(ctx, rec.ID, []vault.MAC{m.MAC}); !errors.Is(err, vault.ErrForgotten) {
		t.Errorf("Mappings after forget: got %v, want ErrForgotten", err)
	}
	if err := s.BindMasterKey(ctx, []byte("fingerprint-2")); !errors.Is(err, vault.ErrWrongMasterKey) {
		t.Errorf("BindMasterKey with another fingerprint: got %v, want ErrWrongMasterKey", err)
	}
}

// testManyValuesPerSubject gives one subject more values, and longer ones, than a
// store is likely to keep together with its key, stored over several calls and a
// reopen, and checks that every one resolves, is counted and is destroyed by a forget.
func testManyValuesPerSubject(t *testing.T, h *harness) {
	ctx := context.Background()
	const subject = "mallory@example.com"
	values := make([]string, 40)
	for i := range values {
		values[i] = fmt.Sprintf("value %d %s", i, strings.Repeat("x", i*i%300))
	}
	v, err := vault.New(ctx, h.open(t, h.name), vault.Options{MasterKey: h.master})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := v.TokenizeAll(ctx, "shop-a", subject, values[:10])
	if err != nil {
		t.Fatal(err)
	}
	for _, val := range values[10:25] {
		toks = append(toks, tokenize(t, v, "shop-a", subject, val))
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	v = h.vault(t)
	more, err := v.TokenizeAll(ctx, "shop-a", subject, values) // the first 25 again, and 15 new
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(toks, more[:25]); diff != "" {
		t.Errorf("tokens after reopen (-want +got):\n%s", diff)
	}
	toks = more
	want := make([]outcome, len(values))
	for i, val := range values {
		want[i] = outcome{Value: val}
	}
	if diff := cmp.Diff(want, detokenize(t, v, toks...)); diff != "" {
		t.Errorf("detokenize (-want +got):\n%s", diff)
	}
	st, err := v.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Keys != 1 || st.Tokens != int64(len(values)) {
		t.Errorf("Stats keys, tokens = %d, %d; want 1, %d", st.Keys, st.Tokens, len(values))
	}
	if res := forget(t, v, subject, ""); res.KeysDestroyed != 1 || res.TokensDestroyed != len(values) {
		t.Errorf("forget destroyed %d keys and %d tokens, want 1 and %d", res.KeysDestroyed, res.TokensDestroyed, len(values))
	}
	for i := range want {
		want[i] = outcome{Err: "forgotten"}
	}
	if diff := cmp.Diff(want, detokenize(t, v, toks...)); diff != "" {
		t.Errorf("detokenize after forget (-want +got):\n%s", diff)
	}
	if st, err := v.Stats(ctx); err != nil || st.Keys != 0 || st.Tokens != 0 || st.Forgotten != 1 {
		t.Errorf("Stats after forget = %+v, %v; want no key, no token, one forgotten", st, err)
	}
}

func testAudit(t *testing.T, h *harness) {
	v := h.vault(t)
	ctx := context.Background()
	const subject, value = "heidi@example.com", "+49 30 1234567"
	tok := tokenize(t, v, "shop-a", subject, value)
	tokenize(t, v, "shop-b", subject, value)
	if _, err := v.Detokenize(ctx, "alice-admin", []string{tok, "not-a-token"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Forget(ctx, "bob-admin", subject, "shop-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Forget(ctx, "bob-admin", subject, ""); err != nil {
		t.Fatal(err)
	}
	entries, err := v.Audit(ctx, 0, 100)
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	type line struct {
		Actor, Action, Controller string
		Tokens, Resolved, Keys    int
	}
	var got []line
	var last uint64
	for _, e := range entries {
		if e.Seq <= last {
			t.Errorf("audit seq %d after %d", e.Seq, last)
		}
		last = e.Seq
		if e.Time.IsZero() {
			t.Errorf("audit entry %d has no time", e.Seq)
		}
		got = append(got, line{e.Actor, e.Action, e.Controller, e.Tokens, e.Resolved, e.Keys})
		raw, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		for _, pii := range []string{subject, value, "shop-a", "shop-b"} {
			if strings.Contains(string(raw), pii) {
				t.Errorf("audit entry %s holds %q", raw, pii)
			}
		}
	}
	want := []line{
		{"alice-admin", vault.ActionDetokenize, "", 2, 1, 0},
		{"bob-admin", vault.ActionForget, v.ControllerRef("shop-a"), 1, 0, 1},
		{"bob-admin", vault.ActionForget, "*", 1, 0, 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit log (-want +got):\n%s", diff)
	}
	if v.ControllerRef("shop-a") == v.ControllerRef("shop-b") {
		t.Errorf("two controllers share one audit reference")
	}
	tail, err := v.Audit(ctx, entries[0].Seq, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tail) != 1 || tail[0].Seq != entries[1].Seq {
		t.Errorf("Audit(after=%d, limit=1) = %+v, want entry %d", entries[0].Seq, tail, entries[1].Seq)
	}
}

func testStats(t *testing.T, h *harness) {
	v := h.vault(t)
	ctx := context.Background()
	for i := range 3 {
		for _, c := range []string{"shop-a", "shop-b"} {
			if _, err := v.TokenizeAll(ctx, c, fmt.Sprint("subject-", i), []string{"email", "phone"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	forget(t, v, "subject-0", "")
	st, err := v.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	got := [4]int64{st.Keys, st.Tokens, st.Forgotten, st.Audit}
	if want := [4]int64{4, 8, 2, 1}; got != want {
		t.Errorf("Stats keys, tokens, forgotten, audit = %v, want %v", got, want)
	}
}

func testPersistsAcrossReopen(t *testing.T, h *harness) {
	ctx := context.Background()
	v, err := vault.New(ctx, h.open(t, h.name), vault.Options{MasterKey: h.master})
	if err != nil {
		t.Fatal(err)
	}
	kept := tokenize(t, v, "shop-a", "ivan", "ivan@example.com")
	gone := tokenize(t, v, "shop-b", "ivan", "ivan@example.com")
	forget(t, v, "ivan", "shop-b")
	if err := v.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	v2 := h.vault(t)
	if again := tokenize(t, v2, "shop-a", "ivan", "ivan@example.com"); again != kept {
		t.Errorf("after reopen the token changed from %q to %q", kept, again)
	}
	if diff := cmp.Diff([]outcome{{Value: "ivan@example.com"}, {Err: "forgotten"}}, detokenize(t, v2, kept, gone)); diff != "" {
		t.Errorf("after reopen (-want +got):\n%s", diff)
	}
	if fresh := tokenize(t, v2, "shop-b", "ivan", "ivan@example.com"); fresh == gone {
		t.Errorf("after reopen a forgotten subject got its old token back")
	}
	entries, err := v2.Audit(ctx, 0, 10)
	if err != nil || len(entries) != 2 {
		t.Errorf("after reopen the audit log holds %d entries (%v), want 2", len(entries), err)
	}
}

func testWrongMasterKey(t *testing.T, h *harness) {
	ctx := context.Background()
	v, err := vault.New(ctx, h.open(t, h.name), vault.Options{MasterKey: h.master})
	if err != nil {
		t.Fatal(err)
	}
	tokenize(t, v, "shop-a", "judy", "judy@example.com")
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	s := h.open(t, h.name)
	_, err = vault.New(ctx, s, vault.Options{MasterKey: randomKey(t)})
	if !errors.Is(err, vault.ErrWrongMasterKey) {
		t.Errorf("New with another master key: got %v, want ErrWrongMasterKey", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// testSealUnseal checks sealed values: they open to their values, store nothing
// per value, die with their subject's key, and are audited.
func testSealUnseal(t *testing.T, h *harness) {
	v := h.vault(t)
	ctx := context.Background()
	values := []string{"ivan@example.com", "", `{"street":"1 Main St"}`, strings.Repeat("x", vault.MaxValueLen)}
	sealed, err := v.Seal(ctx, "shop-a", "ivan", values)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	again, err := v.Seal(ctx, "shop-a", "ivan", values[:1])
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	other, err := v.Seal(ctx, "shop-b", "ivan", values[:1])
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if again[0] != sealed[0] || other[0] == sealed[0] {
		t.Errorf("sealing the same value: same subject %v (want equal), other controller %v (want different)", again[0] == sealed[0], other[0] == sealed[0])
	}
	// The text is base32 of random-looking bytes: it holds neither the value
	// ('@' is not in its alphabet) nor anything else in clear. (Looking for the
	// subject "ivan" failed about one run in 170: four letters of base32 turn
	// up by chance in the 6,600 characters of the longest value.)
	for i, s := range sealed {
		if !strings.HasPrefix(s, vault.SealedPrefix) || !vault.IsSealed(s) || strings.Contains(s, values[0]) || strings.ContainsAny(s[len(vault.SealedPrefix):], "@{} \"") {
			t.Errorf("sealed value %d has the wrong form: %.60s", i, s)
		}
	}
	tok := tokenize(t, v, "shop-a", "ivan", values[0])
	st, err := v.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Tokens != 1 {
		t.Errorf("the store holds %d token mappings after sealing and one tokenize, want 1: Seal must store nothing per value", st.Tokens)
	}
	if vault.IsSealed(tok) {
		t.Error("a token passes IsSealed")
	}
	// One digit of the ciphertext changed (the token takes the first 40 digits;
	// the last digit may carry unused bits).
	altered := []byte(sealed[0])
	d := len(vault.SealedPrefix) + 45
	altered[d] = map[bool]byte{true: 'b', false: 'a'}[altered[d] == 'a']
	inputs := append(append([]string{}, sealed...), string(altered), tok, values[0], strings.ToUpper(sealed[0]))
	got, err := unseal(t, v, inputs...)
	if err != nil {
		t.Fatal(err)
	}
	want := []outcome{{Value: values[0]}, {Value: values[1]}, {Value: values[2]}, {Value: values[3]},
		{Err: "unknown"}, {Err: "malformed"}, {Err: "malformed"}, {Err: "malformed"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Unseal (-want +got):\n%s", diff)
	}
	if _, err := v.Seal(ctx, "shop-a", "", values); !errors.Is(err, vault.ErrEmptySubject) {
		t.Errorf("Seal without subject: got %v, want ErrEmptySubject", err)
	}
	if _, err := v.Seal(ctx, "shop-a", "ivan", []string{strings.Repeat("x", vault.MaxValueLen+1)}); !errors.Is(err, vault.ErrValueTooLong) {
		t.Errorf("Seal of a long value: got %v, want ErrValueTooLong", err)
	}
	if _, err := v.Unseal(ctx, "", sealed); !errors.Is(err, vault.ErrEmptyActor) {
		t.Errorf("Unseal without actor: got %v, want ErrEmptyActor", err)
	}
	forget(t, v, "ivan", "shop-a")
	got, err = unseal(t, v, sealed[0], other[0])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]outcome{{Err: "forgotten"}, {Value: values[0]}}, got); diff != "" {
		t.Errorf("Unseal after forgetting the subject under shop-a (-want +got):\n%s", diff)
	}
	entries, err := v.Audit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	unseals := 0
	for _, e := range entries {
		if e.Action == vault.ActionUnseal {
			unseals++
			if e.Actor != "test" {
				t.Errorf("unseal audited under %q, want test", e.Actor)
			}
		}
	}
	if unseals != 2 {
		t.Errorf("%d unseal audit entries, want 2", unseals)
	}
}

// testCheckSealed checks that CheckSealed tells sealed values whose key lives
// from those of forgotten subjects and of another vault, and opens nothing:
// no audit entry, no value.
func testCheckSealed(t *testing.T, h *harness) {
	v := h.vault(t)
	ctx := context.Background()
	sealed, err := v.Seal(ctx, "shop-a", "ivan", []string{"ivan@example.com", "1 Main St"})
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	kept, err := v.Seal(ctx, "shop-a", "olga", []string{"olga@example.com"})
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	other, err := vault.New(ctx, h.open(t, h.name+"_other"), vault.Options{MasterKey: randomKey(t)})
	if err != nil {
		t.Fatalf("vault.New: %v", err)
	}
	foreign, err := other.Seal(ctx, "shop-a", "ivan", []string{"ivan@example.com"})
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	check := func() []string {
		t.Helper()
		res, err := v.CheckSealed(ctx, []string{sealed[0], kept[0], sealed[1], foreign[0], "ivan@example.com"})
		if err != nil {
			t.Fatalf("CheckSealed: %v", err)
		}
		out := make([]string, len(res))
		for i, e := range res {
			switch {
			case e == nil:
				out[i] = "live"
			case errors.Is(e, vault.ErrForgotten):
				out[i] = "forgotten"
			case errors.Is(e, vault.ErrUnknownToken):
				out[i] = "unknown"
			case errors.Is(e, vault.ErrMalformedToken):
				out[i] = "malformed"
			default:
				out[i] = e.Error()
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{"live", "live", "live", "unknown", "malformed"}, check()); diff != "" {
		t.Errorf("CheckSealed before the forget (-want +got):\n%s", diff)
	}
	forget(t, v, "ivan", "")
	if diff := cmp.Diff([]string{"forgotten", "live", "forgotten", "unknown", "malformed"}, check()); diff != "" {
		t.Errorf("CheckSealed after forgetting ivan (-want +got):\n%s", diff)
	}
	entries, err := v.Audit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Action != vault.ActionForget {
			t.Errorf("CheckSealed left an audit entry %+v: it opens nothing", e)
		}
	}
}

func unseal(t testing.TB, v *vault.Vault, sealed ...string) ([]outcome, error) {
	t.Helper()
	res, err := v.Unseal(context.Background(), "test", sealed)
	if err != nil {
		return nil, err
	}
	return outcomesOf(res), nil
}
