package vault

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkStorage measures the embedded store's size after
// ACCORD_VAULT_BENCH_SUBJECTS subjects (default 100000) with ACCORD_VAULT_BENCH_TOKENS
// tokens each (default 2: an email and a phone number), spread over 1000 controllers.
// It reports the bytes bbolt allocates per subject in the index (index bucket) and
// the key records with their inline tokens (records bucket), per token in the tokens
// bucket (tokens that do not fit in their record), per mapping (everything divided by
// the tokens), how full the allocated leaf pages are, and the file's size per mapping.
// With ACCORD_VAULT_BENCH_LATE=n, the last n tokens of every subject are tokenized in
// a second pass over the subjects in a scrambled order, as when subjects come back
// with a new value: their records grow after the pages around them have filled. Run
// it once:
//
//	ACCORD_VAULT_BENCH_SUBJECTS=100000 go test -run XXX -bench Storage -benchtime 1x ./internal/vault/
func BenchmarkStorage(b *testing.B) {
	subjects := benchEnvInt(b, "ACCORD_VAULT_BENCH_SUBJECTS", 100_000)
	perSubject := benchEnvInt(b, "ACCORD_VAULT_BENCH_TOKENS", 2)
	late := 0
	if os.Getenv("ACCORD_VAULT_BENCH_LATE") != "" {
		late = benchEnvInt(b, "ACCORD_VAULT_BENCH_LATE", 1)
	}
	if late >= perSubject {
		b.Fatalf("ACCORD_VAULT_BENCH_LATE=%d leaves no token for the first pass of %d", late, perSubject)
	}
	for range b.N {
		path := filepath.Join(b.TempDir(), "vault.db")
		s, err := OpenBolt(path, BoltOptions{})
		if err != nil {
			b.Fatal(err)
		}
		master := make([]byte, MasterKeyLen)
		if _, err := rand.Read(master); err != nil {
			b.Fatal(err)
		}
		v, err := New(context.Background(), s, Options{MasterKey: master})
		if err != nil {
			b.Fatal(err)
		}
		// pass tokenizes the first n values of every subject, in the order that order
		// gives, from 64 goroutines.
		pass := func(n int, order func(int) int) {
			var wg sync.WaitGroup
			var next atomic.Int64
			for range 64 {
				wg.Go(func() {
					values := make([]string, perSubject)
					for {
						k := int(next.Add(1)) - 1
						if k >= subjects {
							return
						}
						i := order(k)
						subject := fmt.Sprintf("user%07d@example.com", i)
						values[0] = subject
						for j := 1; j < len(values); j++ {
							values[j] = fmt.Sprintf("+1 555 %07d %d", i, j)
						}
						if _, err := v.TokenizeAll(context.Background(), "shop-"+strconv.Itoa(i%1000), subject, values[:n]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
		}
		pass(perSubject-late, func(k int) int { return k })
		if late > 0 {
			// 7919 is prime, so k -> k*7919 mod subjects is a permutation unless
			// subjects is a multiple of it.
			pass(perSubject, func(k int) int { return k * 7919 % subjects })
		}
		alloc := map[string]float64{}
		var leafInuse, leafAlloc float64
		err = s.view(context.Background(), func(tx *bolt.Tx) error {
			return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
				st := bk.Stats()
				alloc[string(name)] = float64(st.BranchAlloc + st.LeafAlloc)
				leafInuse += float64(st.LeafInuse)
				leafAlloc += float64(st.LeafAlloc)
				return nil
			})
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Close(); err != nil {
			b.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		tokens := float64(subjects * perSubject)
		var total float64
		for _, a := range alloc {
			total += a
		}
		b.ReportMetric(alloc["index"]/float64(subjects), "B/subject-index")
		b.ReportMetric(alloc["records"]/float64(subjects), "B/subject-records")
		b.ReportMetric(alloc["tokens"]/tokens, "B/token-overflow")
		b.ReportMetric(total/tokens, "B/mapping")
		b.ReportMetric(100*leafInuse/leafAlloc, "leaf-fill-%")
		b.ReportMetric(float64(fi.Size())/tokens, "file-B/mapping")
		b.ReportMetric(total*1e6/float64(subjects)/(1<<20), "MiB/1M-subjects")
	}
}

func benchEnvInt(b testing.TB, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q is not a positive integer", name, v)
	}
	return n
}
