package typescript

import (
	"regexp"
	"slices"
	"testing"
)

// TestReservedCoversTemplate checks that every type, class and interface
// client.ts.tmpl declares is reserved, so that no generated type can take its
// name (a contract named drop gets Drop2, not a clash).
func TestReservedCoversTemplate(t *testing.T) {
	decl := regexp.MustCompile(`(?m)^(?:export )?(?:type|interface|class) ([A-Za-z_][A-Za-z0-9_]*)`)
	for _, m := range decl.FindAllStringSubmatch(clientTemplate, -1) {
		if !slices.Contains(reserved, m[1]) {
			t.Errorf("client.ts.tmpl declares %s, which reserved lacks", m[1])
		}
	}
}
