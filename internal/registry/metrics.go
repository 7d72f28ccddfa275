package registry

import "github.com/prometheus/client_golang/prometheus"

// Collectors returns the registry's metrics, read from Status at scrape time, for
// the caller to register with its own prometheus.Registerer:
//
//	accord_registry_generation                  successful loads (1 after Open)
//	accord_registry_contracts                   contract versions being served
//	accord_registry_loaded_timestamp_seconds    when the serving snapshot was loaded
//	accord_registry_failed_reloads_total        reloads refused because of problems
//	accord_registry_reload_failing              1 while the last reload attempt failed
func (r *Registry) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_registry_generation", Help: "Successful registry loads: 1 after start, +1 per reload."},
			func() float64 { return float64(r.Status().Generation) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_registry_contracts", Help: "Contract versions in the snapshot being served."},
			func() float64 { return float64(r.Status().Contracts) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_registry_loaded_timestamp_seconds", Help: "When the snapshot being served was loaded, in Unix seconds."},
			func() float64 { return float64(r.Status().LoadedAt.UnixNano()) / 1e9 }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "accord_registry_failed_reloads_total", Help: "Reloads refused because the registry folder had problems; the previous snapshot kept serving."},
			func() float64 { return float64(r.Status().FailedReloads) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_registry_reload_failing", Help: "1 while the last reload attempt failed (an edit is waiting to be fixed), else 0."},
			func() float64 {
				if r.Status().LastError != "" {
					return 1
				}
				return 0
			}),
	}
}
