package contract

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Two shapes come from one contract: the sent shape (the schema as producers send
// it) and the stored shape (what the scrubber leaves, which the lake, the tables,
// dbt and the catalog follow). StoredFieldSchema and StoredDoc define the stored
// shape once; the scrubber's output must validate against StoredDoc.
//
// Stored shape of a field by handling:
//
//	drop      the field is removed (in a tuple it becomes null)
//	tokenize  a vault token string
//	hash      a 64-character hex HMAC-SHA256 string
//	keep      the sent schema, unchanged
//	obfuscate by kind:
//	  ip            {masked: "81.2.0.0", country: "GB", region, city}  (region and city with a .mmdb)
//	  user_agent    {browser_family, browser_major, os_family, os_major, device_brand, device_model, is_bot}
//	  geo           the number cut to 1 decimal
//	  email         the domain ("example.com")
//	  phone         the country calling code ("+44")
//	  postal_code   the first two characters
//	  date_of_birth the year ("1990")
//	  url           scheme, host and path, without query, fragment or user info
//
// A field whose sent type allows null stays nullable: null is stored as null.

// StoredFieldSchema returns the stored schema of a field whose sent schema is sent
// and whose annotation is pii, and false when the field is dropped.
func StoredFieldSchema(sent map[string]any, pii PII) (map[string]any, bool) {
	desc, _ := sent["description"].(string)
	nullable := allowsNull(sent)
	str := func(note string) map[string]any {
		return withNull(map[string]any{"type": "string", "description": strings.TrimSpace(desc + " " + note)}, nullable)
	}
	switch pii.Handling {
	case HandlingDrop:
		return nil, false
	case HandlingKeep:
		return copyJSON(sent).(map[string]any), true
	case HandlingTokenize:
		return str("(Tokenized: a vault token; forgetting the data subject makes it meaningless.)"), true
	case HandlingHash:
		return str("(Hashed: keyed HMAC-SHA256, hex.)"), true
	}
	switch pii.Kind {
	case KindIP:
		return withNull(map[string]any{
			"type":                 "object",
			"description":          strings.TrimSpace(desc + " (Obfuscated: half of the address masked, geo looked up before masking.)"),
			"additionalProperties": false,
			"required":             []any{"masked"},
			"properties": map[string]any{
				"masked":  map[string]any{"type": "string", "description": "The address with its host half zeroed (IPv4 keeps 2 of 4 bytes, IPv6 8 of 16)."},
				"country": map[string]any{"type": "string", "description": "ISO 3166-1 alpha-2 country of the full address."},
				"region":  map[string]any{"type": "string", "description": "Region (subdivision) of the full address, when a city database is configured."},
				"city":    map[string]any{"type": "string", "description": "City of the full address, when a city database is configured."},
			},
		}, nullable), true
	case KindUserAgent:
		s := func(d string) map[string]any { return map[string]any{"type": "string", "description": d} }
		return withNull(map[string]any{
			"type":                 "object",
			"description":          strings.TrimSpace(desc + " (Obfuscated: generalised to browser, OS and device.)"),
			"additionalProperties": false,
			"required":             []any{"is_bot"},
			"properties": map[string]any{
				"browser_family": s("Browser or app family, e.g. Chrome."),
				"browser_major":  s("Browser major version, e.g. 126."),
				"os_family":      s("Operating system family, e.g. iOS."),
				"os_major":       s("Operating system major version, e.g. 17."),
				"device_brand":   s("Device brand, e.g. Apple."),
				"device_model":   s("Device model, e.g. iPhone."),
				"is_bot":         map[string]any{"type": "boolean", "description": "Whether the user agent is a known bot or crawler."},
			},
		}, nullable), true
	case KindGeo:
		out := map[string]any{"type": "number", "description": strings.TrimSpace(desc + " (Obfuscated: cut to 1 decimal, about 11 km.)")}
		for _, k := range []string{"minimum", "maximum"} {
			if v, ok := sent[k]; ok {
				out[k] = v
			}
		}
		return withNull(out, nullable), true
	case KindEmail:
		return str("(Obfuscated: the domain only.)"), true
	case KindPhone:
		return str("(Obfuscated: the country calling code only, e.g. +44.)"), true
	case KindPostalCode:
		return str("(Obfuscated: the first two characters only.)"), true
	case KindDateOfBirth:
		return str("(Obfuscated: the year only.)"), true
	case KindURL:
		return str("(Obfuscated: scheme, host and path; query, fragment and user info removed.)"), true
	}
	// Kinds without an obfuscation are refused when the contract loads.
	return str("(Obfuscated.)"), true
}

// StoredDoc derives the stored-shape schema document from the contract: every PII
// field replaced by its stored schema, dropped fields removed.
func (c *Contract) StoredDoc() map[string]any {
	doc := copyJSON(c.Doc).(map[string]any)
	// Deepest pointers first, so that replacing a parent never hides a child.
	fields := c.PII()
	for i := len(fields) - 1; i >= 0; i-- {
		f := fields[i]
		parentPtr, name, inProps := cutProperty(f.Pointer)
		node, ok := SchemaAt(doc, f.Pointer)
		if !ok {
			continue
		}
		stored, keep := StoredFieldSchema(node, *f.PII)
		switch {
		case keep:
			setPointer(doc, f.Pointer, stored)
		case inProps:
			if parent, ok := SchemaAt(doc, parentPtr); ok {
				if props, ok := parent["properties"].(map[string]any); ok {
					delete(props, name)
				}
				if req, ok := parent["required"].([]any); ok {
					kept := req[:0:0]
					for _, r := range req {
						if r != name {
							kept = append(kept, r)
						}
					}
					parent["required"] = kept
				}
			}
		default:
			setPointer(doc, f.Pointer, map[string]any{"type": "null", "description": "(Dropped.)"})
		}
	}
	return doc
}

// cutProperty splits /a/properties/b into (/a, b, true).
func cutProperty(pointer string) (string, string, bool) {
	i := strings.LastIndex(pointer, "/properties/")
	if i < 0 || strings.Contains(pointer[i+len("/properties/"):], "/") {
		return "", "", false
	}
	return pointer[:i], unescape(pointer[i+len("/properties/"):]), true
}

func setPointer(doc map[string]any, pointer string, v map[string]any) {
	toks := SplitPointer(pointer)
	if len(toks) == 0 {
		return
	}
	var cur any = doc
	for _, tok := range toks[:len(toks)-1] {
		switch n := cur.(type) {
		case map[string]any:
			cur = n[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return
			}
			cur = n[i]
		}
	}
	last := toks[len(toks)-1]
	switch n := cur.(type) {
	case map[string]any:
		n[last] = v
	case []any:
		if i, err := strconv.Atoi(last); err == nil && i >= 0 && i < len(n) {
			n[i] = v
		}
	}
}

func allowsNull(schema map[string]any) bool {
	return slices.Contains(Types(schema), "null")
}

func withNull(schema map[string]any, nullable bool) map[string]any {
	if nullable {
		schema["type"] = []any{schema["type"], "null"}
	}
	return schema
}

// copyJSON deep-copies a JSON value.
func copyJSON(v any) any {
	switch n := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(n))
		for k, sub := range n {
			out[k] = copyJSON(sub)
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, sub := range n {
			out[i] = copyJSON(sub)
		}
		return out
	case json.Number, string, bool, nil:
		return n
	default:
		return n
	}
}
