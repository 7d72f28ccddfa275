package python

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReservedCoversTemplate checks that every public class and module-level
// name client.py.tmpl declares is reserved, so that no generated type can take
// it (a contract named drop gets Drop2, not a clash).
func TestReservedCoversTemplate(t *testing.T) {
	decl := regexp.MustCompile(`(?m)^(?:class ([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*) = )`)
	for _, m := range decl.FindAllStringSubmatch(clientTemplate, -1) {
		name := m[1] + m[2]
		if !strings.HasPrefix(name, "_") && !slices.Contains(moduleReserved, name) {
			t.Errorf("client.py.tmpl declares %s, which moduleReserved lacks", name)
		}
	}
}
