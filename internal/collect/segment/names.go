package segment

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
)

// Reserved event names: a contract that lists one in x-event-names validates the
// calls of that type. Track calls may not use them.
const (
	NameIdentify = "$identify"
	NamePage     = "$page"
	NameScreen   = "$screen"
	NameGroup    = "$group"
	NameAlias    = "$alias"
)

// reservedNames maps each call type other than track to its reserved name.
var reservedNames = map[string]string{
	TypeIdentify: NameIdentify,
	TypePage:     NamePage,
	TypeScreen:   NameScreen,
	TypeGroup:    NameGroup,
	TypeAlias:    NameAlias,
}

// isReserved reports whether name is one of the reserved names.
func isReserved(name string) bool {
	for _, r := range reservedNames {
		if r == name {
			return true
		}
	}
	return false
}

// Names resolves event names to contracts for one registry snapshot. It is
// immutable once built.
type Names struct {
	snap   *contract.Snapshot
	byName map[string]resolution
}

// resolution is the contract an event name resolves to, and the other families
// whose active or deprecated versions declare the name too (a registry that
// lint's event-names-unique refuses).
type resolution struct {
	c      *contract.Compiled
	others []contract.Family
}

// NewNames indexes every x-event-names entry of snap. A name resolves to one
// contract version, chosen in this order:
//
//  1. versions that are not retired before retired ones (a retired contract still
//     answers, with contract_retired and its replacement, when nothing else
//     declares the name);
//  2. the family whose vendor/name/format sorts first, when several families
//     declare the name (ambiguous: lint's event-names-unique flags it, and the
//     collector warns in every answer);
//  3. within the family, the highest version that declares the name (highest
//     MODEL, then REVISION, then ADDITION).
func NewNames(snap *contract.Snapshot) *Names {
	n := &Names{snap: snap, byName: map[string]resolution{}}
	if snap == nil {
		return n
	}
	candidates := map[string][]*contract.Compiled{}
	for _, c := range snap.All() {
		seen := map[string]bool{}
		for _, name := range c.EventNames {
			if !seen[name] {
				seen[name] = true
				candidates[name] = append(candidates[name], c)
			}
		}
	}
	for name, cs := range candidates {
		sort.Slice(cs, func(i, j int) bool { return better(cs[i], cs[j]) })
		res := resolution{c: cs[0]}
		seen := map[contract.Family]bool{cs[0].Key.Family(): true}
		for _, c := range cs[1:] {
			if f := c.Key.Family(); !seen[f] && c.Lifecycle.Status != contract.StatusRetired {
				seen[f] = true
				res.others = append(res.others, f)
			}
		}
		n.byName[name] = res
	}
	return n
}

// better orders candidate contracts for one name: the first one wins.
func better(a, b *contract.Compiled) bool {
	ra, rb := a.Lifecycle.Status == contract.StatusRetired, b.Lifecycle.Status == contract.StatusRetired
	if ra != rb {
		return rb
	}
	fa, fb := a.Key.Family().String(), b.Key.Family().String()
	if fa != fb {
		return fa < fb
	}
	return a.Key.Version.Compare(b.Key.Version) > 0
}

// Lookup returns the contract version that validates events named name, and a
// warning when the name is ambiguous.
func (n *Names) Lookup(name string) (*contract.Compiled, string, bool) {
	res, ok := n.byName[name]
	if !ok {
		return nil, "", false
	}
	warning := ""
	if len(res.others) > 0 {
		others := make([]string, len(res.others))
		for i, f := range res.others {
			others[i] = f.String()
		}
		warning = fmt.Sprintf("event name %q is declared by %s and also by %s; it was validated against %s: keep it in one family's x-event-names (lint rule event-names-unique)",
			collect.Clip(name, 120), res.c.Key.Family(), strings.Join(others, ", "), res.c.Key)
	}
	return res.c, warning, true
}

// namesCache keeps the index of the latest snapshot and rebuilds it when the
// registry swaps its snapshot.
type namesCache struct{ cur atomic.Pointer[Names] }

// get returns the index of snap, building it on the first request after a swap.
// Concurrent requests may build it twice; either copy is correct.
func (c *namesCache) get(snap *contract.Snapshot) *Names {
	if n := c.cur.Load(); n != nil && n.snap == snap {
		return n
	}
	n := NewNames(snap)
	c.cur.Store(n)
	return n
}
