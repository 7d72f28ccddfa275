package scrub

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// hmacTokenizer is a real tokenizer for tests until the vault is wired in: a key
// per (controller, subject) derived from a master key and cached, as the vault
// caches pair keys, and a token per value under that key. The same value gives
// the same token under the same pair and a different one under another pair.
type hmacTokenizer struct {
	master []byte
	keys   sync.Map // controller "\x00" subject -> []byte
	fail   error    // returned by every call when set
	calls  sync.Map // "controller|subject" -> count, to check what was asked
}

func newHMACTokenizer() *hmacTokenizer {
	return &hmacTokenizer{master: []byte("test master key, 32 bytes long!!")}
}

func (t *hmacTokenizer) Tokenize(ctx context.Context, controller, subject, value string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if t.fail != nil {
		return "", t.fail
	}
	if controller == "" || subject == "" {
		return "", errors.New("empty controller or subject")
	}
	id := controller + "\x00" + subject
	k, ok := t.keys.Load(id)
	if !ok {
		m := hmac.New(sha256.New, t.master)
		m.Write([]byte(id))
		k, _ = t.keys.LoadOrStore(id, m.Sum(nil))
		t.calls.Store(controller+"|"+subject, true)
	}
	m := hmac.New(sha256.New, k.([]byte))
	m.Write([]byte(value))
	return "tk_" + hex.EncodeToString(m.Sum(nil)[:16]), nil
}

// token is what the tokenizer gives value under (controller, subject).
func (t *hmacTokenizer) token(tb testing.TB, controller, subject, value string) string {
	tb.Helper()
	tok, err := t.Tokenize(context.Background(), controller, subject, value)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

const testSecret = "0123456789abcdef0123456789abcdef-test"

func newScrubber(tb testing.TB, cfg Config, tok Tokenizer) *Scrubber {
	tb.Helper()
	if cfg.HashSecret == "" && cfg.HashSecretFile == "" {
		cfg.HashSecret = testSecret
	}
	s, err := New(cfg, Deps{Tokenizer: tok})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// parseContract parses a contract from YAML, as the registry would.
func parseContract(tb testing.TB, uri, src string) *contract.Contract {
	tb.Helper()
	key, err := contract.ParseURI(uri)
	if err != nil {
		tb.Fatal(err)
	}
	c, problems := contract.Parse([]byte(src), uri, key)
	if len(problems) > 0 {
		tb.Fatalf("parsing %s: %v", uri, problems)
	}
	return c
}

// loadContracts loads a registry folder, failing on any problem.
func loadContracts(tb testing.TB, dir string) []*contract.Contract {
	tb.Helper()
	set, err := contract.Load(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if err := set.Err(); err != nil {
		tb.Fatal(err)
	}
	return set.Contracts
}

const (
	examplesDir = "../../examples/contracts"
	benchDir    = "/work/shared/bench/contracts"
	benchEvent  = "/work/shared/bench/event.json"
)

// benchContract returns the reference contract and one decoded reference event,
// skipping loudly when the shared bench folder is not there.
func benchContract(tb testing.TB) (*contract.Contract, []byte) {
	tb.Helper()
	if _, err := os.Stat(benchDir); err != nil {
		tb.Skipf("SKIPPING: the reference workload is not at %s: %v", benchDir, err)
	}
	cs := loadContracts(tb, benchDir)
	raw, err := os.ReadFile(benchEvent)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := contract.DecodeJSON(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return cs[0], mustJSON(tb, v.(map[string]any)["data"])
}

func decode(tb testing.TB, s []byte) any {
	tb.Helper()
	v, err := contract.DecodeJSON(s)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// writeCityDB builds a MaxMind-format city database in a temporary folder and
// returns its path. networks maps CIDRs to {country, region, region code, city}.
func writeCityDB(tb testing.TB, dbType string, networks map[string][4]string) string {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 28, IncludeReservedNetworks: true})
	if err != nil {
		tb.Fatal(err)
	}
	for cidr, g := range networks {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			tb.Fatal(err)
		}
		rec := mmdbtype.Map{
			"country": mmdbtype.Map{"iso_code": mmdbtype.String(g[0])},
		}
		if g[1] != "" || g[2] != "" {
			sub := mmdbtype.Map{}
			if g[1] != "" {
				sub["names"] = mmdbtype.Map{"en": mmdbtype.String(g[1])}
			}
			if g[2] != "" {
				sub["iso_code"] = mmdbtype.String(g[2])
			}
			rec["subdivisions"] = mmdbtype.Slice{sub}
		}
		if g[3] != "" {
			rec["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(g[3]), "de": mmdbtype.String(strings.ToUpper(g[3]))}}
		}
		if err := tree.Insert(network, rec); err != nil {
			tb.Fatal(err)
		}
	}
	path := filepath.Join(tb.TempDir(), "city.mmdb")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}
