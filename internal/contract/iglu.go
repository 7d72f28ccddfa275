package contract

import (
	"fmt"
	"iter"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SchemaVer is a contract version in Snowplow's SchemaVer form MODEL-REVISION-ADDITION.
// MODEL changes break every consumer, REVISION changes may break some historical
// data, ADDITION changes are compatible with all history.
type SchemaVer struct {
	Model, Revision, Addition int
}

// ParseSchemaVer parses "1-0-0". Parts are non-negative integers without leading
// zeros and MODEL starts at 1, as SchemaVer requires.
func ParseSchemaVer(s string) (SchemaVer, error) {
	// Cut rather than Split: a schema URI is parsed for every event collected,
	// and Split allocates its slice of parts.
	if strings.Count(s, "-") != 2 {
		return SchemaVer{}, fmt.Errorf("version %q is not SchemaVer MODEL-REVISION-ADDITION (for example 1-0-0)", s)
	}
	var n [3]int
	rest := s
	for i := range n {
		p := rest
		if i < 2 {
			p, rest, _ = strings.Cut(rest, "-")
		}
		v, ok := schemaVerPart(p)
		if !ok {
			return SchemaVer{}, fmt.Errorf("version %q: part %q must be a number without leading zeros (for example 1-0-0)", s, p)
		}
		n[i] = v
	}
	if n[0] < 1 {
		return SchemaVer{}, fmt.Errorf("version %q: MODEL starts at 1 (for example 1-0-0)", s)
	}
	return SchemaVer{Model: n[0], Revision: n[1], Addition: n[2]}, nil
}

// schemaVerPart reads one part of a SchemaVer: one to nine decimal digits,
// without a leading zero. (A loop over the digits: strings.Trim with a set of
// ten builds the set on every call, a few percent of decoding a Snowplow event.)
func schemaVerPart(p string) (int, bool) {
	if p == "" || len(p) > 9 || len(p) > 1 && p[0] == '0' {
		return 0, false
	}
	v := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// String formats the version as MODEL-REVISION-ADDITION.
func (v SchemaVer) String() string {
	var d [maxSchemaVerLen]byte
	return string(v.appendTo(d[:0]))
}

// maxSchemaVerLen is the longest SchemaVer: three 64-bit numbers and two dashes.
const maxSchemaVerLen = 3*20 + 2

func (v SchemaVer) appendTo(b []byte) []byte {
	b = strconv.AppendInt(b, int64(v.Model), 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(v.Revision), 10)
	b = append(b, '-')
	return strconv.AppendInt(b, int64(v.Addition), 10)
}

// Compare orders versions: negative when v < o, zero when equal, positive when v > o.
func (v SchemaVer) Compare(o SchemaVer) int {
	switch {
	case v.Model != o.Model:
		return v.Model - o.Model
	case v.Revision != o.Revision:
		return v.Revision - o.Revision
	default:
		return v.Addition - o.Addition
	}
}

// Bump is the kind of SchemaVer increment between two versions.
type Bump int

// Bumps from smallest to largest, so that they compare with < and >.
const (
	BumpNone Bump = iota
	BumpAddition
	BumpRevision
	BumpModel
)

// String names the bump as SchemaVer does.
func (b Bump) String() string {
	switch b {
	case BumpAddition:
		return "ADDITION"
	case BumpRevision:
		return "REVISION"
	case BumpModel:
		return "MODEL"
	default:
		return "NONE"
	}
}

// BumpTo returns the bump that leads from v to next, and whether next is the
// immediate successor that SchemaVer allows (1-0-0 -> 1-0-1, 1-1-0 or 2-0-0).
func (v SchemaVer) BumpTo(next SchemaVer) (Bump, bool) {
	switch {
	case next.Model == v.Model+1:
		return BumpModel, next.Revision == 0 && next.Addition == 0
	case next.Model == v.Model && next.Revision == v.Revision+1:
		return BumpRevision, next.Addition == 0
	case next.Model == v.Model && next.Revision == v.Revision && next.Addition == v.Addition+1:
		return BumpAddition, true
	case next == v:
		return BumpNone, false
	}
	switch {
	case next.Model > v.Model:
		return BumpModel, false
	case next.Model == v.Model && next.Revision > v.Revision:
		return BumpRevision, false
	default:
		return BumpAddition, false
	}
}

// Key identifies one version of a contract, as an Iglu URI does:
// iglu:<vendor>/<name>/<format>/<version>.
type Key struct {
	Vendor  string
	Name    string
	Format  string
	Version SchemaVer
}

// IgluPrefix is the scheme of self-describing schema references.
const IgluPrefix = "iglu:"

// ParseURI parses an Iglu URI such as iglu:com.acme/signup/jsonschema/1-0-0.
func ParseURI(uri string) (Key, error) {
	if spaceAround(uri) {
		// Said first: the version's or the vendor's own message would blame
		// the character next to the space.
		return Key{}, fmt.Errorf("schema URI %q has spaces or line breaks around it; send it without them (for example iglu:com.acme/signup/jsonschema/1-0-0)", clip(uri))
	}
	rest, ok := strings.CutPrefix(uri, IgluPrefix)
	if !ok {
		return Key{}, fmt.Errorf("schema URI %q must start with %q (for example iglu:com.acme/signup/jsonschema/1-0-0)", clip(uri), IgluPrefix)
	}
	if strings.Count(rest, "/") != 3 {
		return Key{}, fmt.Errorf("schema URI %q must have four parts iglu:<vendor>/<name>/<format>/<version>", clip(uri))
	}
	vendor, rest, _ := strings.Cut(rest, "/")
	name, rest, _ := strings.Cut(rest, "/")
	format, version, _ := strings.Cut(rest, "/")
	return newKey(vendor, name, format, version)
}

// spaceAround reports whether s starts or ends with white space (two rune
// decodings, no scan: ParseURI runs for every event collected).
func spaceAround(s string) bool {
	if s == "" {
		return false
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	return unicode.IsSpace(first) || unicode.IsSpace(last)
}

// maxLooseRef bounds the bytes of a reference LooseFamilies reads: schema
// references are short, and the reader runs on what a producer sent.
const maxLooseRef = 1024

// LooseFamilies reads, leniently, the contract families that ref, a schema
// reference as a producer sent it, may name. It is for what ParseURI refuses
// (or what names a version the registry lacks): a reference that plainly
// names a contract family, with a typo elsewhere, must still find the
// contract that says which of the event's fields are personal data, so that
// a bad row never keeps them in plain text.
//
// ref is split on '/' (spaces around it and around each part, empty parts and
// a leading "iglu:" in any case are left out), and every two adjacent parts
// that could be a vendor and a name (the characters checkIdent allows) are a
// candidate, in order: the first is where a well-formed URI has them, whatever
// follows (another format, a version dotted, zero-padded, cut short or
// missing); the later ones find them in longer forms, such as an Iglu
// server's URL (.../schemas/<vendor>/<name>/jsonschema/1-0-0). Each
// candidate's format is jsonschema, the only one contracts have. Callers look
// the candidates up in the registry and take the first it holds; names are
// compared as written (see collect's family lookup for case).
func LooseFamilies(ref string) iter.Seq[Family] {
	return func(yield func(Family) bool) {
		if len(ref) > maxLooseRef {
			ref = ref[:maxLooseRef]
		}
		ref = strings.TrimSpace(ref)
		if len(ref) >= len(IgluPrefix) && strings.EqualFold(ref[:len(IgluPrefix)], IgluPrefix) {
			ref = ref[len(IgluPrefix):]
		}
		prev := ""
		for part := range strings.SplitSeq(ref, "/") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if prev != "" && isIdent(prev, true) && isIdent(part, false) {
				if !yield(Family{Vendor: prev, Name: part, Format: "jsonschema"}) {
					return
				}
			}
			prev = part
		}
	}
}

// ParsePath parses the registry-relative path <vendor>/<name>/<format>/<version>,
// where the version may carry a .json, .yaml or .yml extension.
func ParsePath(rel string) (Key, error) {
	parts := strings.Split(strings.ReplaceAll(rel, "\\", "/"), "/")
	if len(parts) != 4 {
		return Key{}, fmt.Errorf("path %q is not in the Iglu layout <vendor>/<name>/jsonschema/<MODEL-REVISION-ADDITION>[.json|.yaml|.yml]", rel)
	}
	version := parts[3]
	for _, ext := range []string{".json", ".yaml", ".yml"} {
		version = strings.TrimSuffix(version, ext)
	}
	return newKey(parts[0], parts[1], parts[2], version)
}

func newKey(vendor, name, format, version string) (Key, error) {
	if err := checkIdent("vendor", vendor, true); err != nil {
		return Key{}, err
	}
	if err := checkIdent("name", name, false); err != nil {
		return Key{}, err
	}
	if format != "jsonschema" {
		return Key{}, fmt.Errorf("format %q is not supported: Accord contracts use the format \"jsonschema\"", clip(format))
	}
	v, err := ParseSchemaVer(version)
	if err != nil {
		return Key{}, err
	}
	return Key{Vendor: vendor, Name: name, Format: format, Version: v}, nil
}

// checkIdent accepts what Iglu accepts for vendors and names: letters, digits,
// '_', '-' and (vendors only) '.'.
func checkIdent(what, s string, dots bool) error {
	if isIdent(s, dots) {
		return nil
	}
	if s == "" {
		return fmt.Errorf("schema %s is empty", what)
	}
	if len(s) > 255 {
		return fmt.Errorf("schema %s is longer than 255 characters", what)
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || (dots && r == '.')
		if !ok {
			return fmt.Errorf("schema %s %q may only contain letters, digits, '_', '-'%s", what, clip(s), map[bool]string{true: " and '.'", false: ""}[dots])
		}
	}
	if s == "." || s == ".." {
		return fmt.Errorf("schema %s %q is not a valid name", what, s)
	}
	return nil
}

// isIdent reports whether checkIdent accepts s.
func isIdent(s string, dots bool) bool {
	if s == "" || len(s) > 255 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || dots && c == '.') {
			return false
		}
	}
	return true
}

// URI formats the key as an Iglu URI.
func (k Key) URI() string {
	var d [maxSchemaVerLen]byte
	version := k.Version.appendTo(d[:0])
	var b strings.Builder
	b.Grow(len(IgluPrefix) + len(k.Vendor) + len(k.Name) + len(k.Format) + 3 + len(version))
	b.WriteString(IgluPrefix)
	b.WriteString(k.Vendor)
	b.WriteByte('/')
	b.WriteString(k.Name)
	b.WriteByte('/')
	b.WriteString(k.Format)
	b.WriteByte('/')
	b.Write(version)
	return b.String()
}

// String is the Iglu URI.
func (k Key) String() string { return k.URI() }

// Path is the registry-relative path of the key, without extension.
func (k Key) Path() string {
	return k.Vendor + "/" + k.Name + "/" + k.Format + "/" + k.Version.String()
}

// Family identifies every version of one contract: vendor/name/format.
type Family struct {
	Vendor, Name, Format string
}

// Family returns the contract family of this version.
func (k Key) Family() Family { return Family{Vendor: k.Vendor, Name: k.Name, Format: k.Format} }

// String formats the family as vendor/name/format.
func (f Family) String() string { return f.Vendor + "/" + f.Name + "/" + f.Format }

// clip shortens outside input before it goes into an error message.
func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}
