package fastval

import "github.com/accord-dev/accord/internal/contract"

// ForContract returns the options that compile a contract exactly as the registry
// compiles it: its dialect, format assertion on, and its document without Iglu's
// meta-schema URI.
func ForContract(c *contract.Contract) (doc any, opts Options) {
	d := Draft2020
	switch c.Draft {
	case contract.Draft4:
		d = Draft4
	case contract.Draft7:
		d = Draft7
	}
	return c.SchemaDoc(), Options{Draft: d, AssertFormat: true}
}
