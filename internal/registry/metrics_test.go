package registry

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

func TestCollectors(t *testing.T) {
	dir := newRegistryDir(t)
	r := openTB(t, Config{Dir: dir})
	writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", "[")
	if err := r.Reload(); err == nil {
		t.Fatal("a broken registry reloaded")
	}
	reg := prometheus.NewPedanticRegistry()
	for _, c := range r.Collectors() {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		m := f.GetMetric()[0]
		switch {
		case m.GetGauge() != nil:
			got[f.GetName()] = m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			got[f.GetName()] = m.GetCounter().GetValue()
		}
	}
	loaded := got["accord_registry_loaded_timestamp_seconds"]
	if want := float64(r.Status().LoadedAt.Unix()); loaded < want || loaded > want+1 {
		t.Errorf("loaded timestamp %v, want about %v", loaded, want)
	}
	delete(got, "accord_registry_loaded_timestamp_seconds")
	want := map[string]float64{
		"accord_registry_generation":           1,
		"accord_registry_contracts":            3,
		"accord_registry_failed_reloads_total": 1,
		"accord_registry_reload_failing":       1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}
