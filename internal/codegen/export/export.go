// Package export writes the registry in formats other tools read: plain JSON Schema
// documents (every version, annotations kept) and Open Data Contract Standard
// v3.0.x data contracts (one per table, from the IR's stored-shape columns).
package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/contract"
)

// ODCSVersion is the Open Data Contract Standard version written.
const ODCSVersion = "v3.0.2"

// JSONSchema returns one plain JSON Schema document per contract version, at
// <vendor>/<name>/<version>.schema.json: the contract as written, its Iglu self
// block replaced by $id (the Iglu URI), its $schema the draft it is written in,
// its x- annotations kept, and a $comment naming where it came from.
func JSONSchema(reg *ir.Registry) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, m := range reg.Models {
		for _, c := range m.Contracts {
			k := c.Key
			doc := make(map[string]any, len(c.Doc)+2)
			for key, v := range c.Doc {
				if key != "self" {
					doc[key] = v
				}
			}
			doc["$id"] = k.URI()
			doc["$schema"] = draftURI(c.Draft)
			doc["$comment"] = ir.Header("jsonschema", nil)[0] + " Contract version: " + k.URI()
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(doc); err != nil {
				return nil, fmt.Errorf("exporting %s: %w", k, err)
			}
			files[k.Vendor+"/"+k.Name+"/"+k.Version.String()+".schema.json"] = buf.Bytes()
		}
	}
	return files, nil
}

func draftURI(d contract.Draft) string {
	switch d {
	case contract.Draft7:
		return "http://json-schema.org/draft-07/schema#"
	case contract.Draft4:
		return "http://json-schema.org/draft-04/schema#"
	}
	return "https://json-schema.org/draft/2020-12/schema"
}

type odcs struct {
	APIVersion       string           `yaml:"apiVersion"`
	Kind             string           `yaml:"kind"`
	ID               string           `yaml:"id"`
	Name             string           `yaml:"name"`
	Version          string           `yaml:"version"`
	Status           string           `yaml:"status"`
	Domain           string           `yaml:"domain"`
	Description      *odcsDescription `yaml:"description,omitempty"`
	Tags             []string         `yaml:"tags"`
	Schema           []odcsObject     `yaml:"schema"`
	CustomProperties []customProperty `yaml:"customProperties"`
}

type odcsDescription struct {
	Purpose string `yaml:"purpose"`
}

type odcsObject struct {
	Name         string         `yaml:"name"`
	PhysicalName string         `yaml:"physicalName"`
	LogicalType  string         `yaml:"logicalType"`
	PhysicalType string         `yaml:"physicalType"`
	Description  string         `yaml:"description,omitempty"`
	Properties   []odcsProperty `yaml:"properties"`
}

type odcsProperty struct {
	Name               string           `yaml:"name,omitempty"`
	LogicalType        string           `yaml:"logicalType"`
	PhysicalType       string           `yaml:"physicalType,omitempty"`
	Description        string           `yaml:"description,omitempty"`
	Required           bool             `yaml:"required"`
	PrimaryKey         bool             `yaml:"primaryKey,omitempty"`
	PrimaryKeyPosition int              `yaml:"primaryKeyPosition,omitempty"`
	Unique             bool             `yaml:"unique,omitempty"`
	Classification     string           `yaml:"classification,omitempty"`
	Properties         []odcsProperty   `yaml:"properties,omitempty"`
	Items              *odcsProperty    `yaml:"items,omitempty"`
	CustomProperties   []customProperty `yaml:"customProperties,omitempty"`
}

type customProperty struct {
	Property string `yaml:"property"`
	Value    any    `yaml:"value"`
}

// ODCS returns one ODCS v3.0.2 data contract per table, at <table>.odcs.yaml.
// Logical types follow ODCS 3.0 (timestamps are logicalType date with
// physicalType timestamptz); physical types are PostgreSQL's. Privacy is kept in
// customProperties (piiKind, piiHandling) and PII columns are classified
// restricted.
func ODCS(reg *ir.Registry, physical func(*ir.Column) string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, m := range reg.Models {
		v := m.Key().Version
		doc := odcs{
			APIVersion: ODCSVersion,
			Kind:       "DataContract",
			ID:         m.Vendor + "/" + m.Name + "/" + fmt.Sprint(m.Number),
			Name:       m.Table.Name,
			Version:    fmt.Sprintf("%d.%d.%d", v.Model, v.Revision, v.Addition),
			Status:     string(m.Latest.Lifecycle.Status),
			Domain:     m.Vendor,
			Tags:       []string{"accord", "events"},
		}
		if d := oneLine(m.Latest.Description); d != "" {
			doc.Description = &odcsDescription{Purpose: d}
		}
		obj := odcsObject{Name: m.Table.Name, PhysicalName: m.Table.Name, LogicalType: "object", PhysicalType: "table", Description: oneLine(m.Table.Description)}
		for _, c := range m.Table.Columns {
			p := property(c, physical)
			if c.Envelope && c.Name == ir.ColEventID {
				p.PrimaryKey, p.PrimaryKeyPosition, p.Unique = true, 1, true
			}
			obj.Properties = append(obj.Properties, p)
		}
		doc.Schema = []odcsObject{obj}
		versions := make([]string, len(m.Versions))
		for i, k := range m.Versions {
			versions[i] = k.URI()
		}
		doc.CustomProperties = append(doc.CustomProperties, customProperty{"igluSchemas", versions})
		if o := m.Latest.Owner; o != nil {
			doc.CustomProperties = append(doc.CustomProperties, customProperty{"owner", o.Team})
			if o.Contact != "" {
				doc.CustomProperties = append(doc.CustomProperties, customProperty{"ownerContact", o.Contact})
			}
		}
		if lc := m.Latest.Lifecycle; lc.Retention != "" {
			doc.CustomProperties = append(doc.CustomProperties, customProperty{"retention", lc.Retention}, customProperty{"retentionDays", lc.RetentionDays})
		}
		if p := m.Latest.Privacy; p != nil {
			doc.CustomProperties = append(doc.CustomProperties, customProperty{"privacyController", p.Controller.String()}, customProperty{"privacySubject", p.Subject.String()})
		}
		body, err := yaml.MarshalWithOptions(doc, yaml.Indent(2), yaml.IndentSequence(true))
		if err != nil {
			return nil, fmt.Errorf("encoding the ODCS contract of %s: %w", m.Table.Name, err)
		}
		var b strings.Builder
		for _, l := range ir.Header("odcs", ir.ModelSources(m)) {
			b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
		}
		b.Write(body)
		files[m.Table.Name+".odcs.yaml"] = []byte(b.String())
	}
	return files, nil
}

func property(c *ir.Column, physical func(*ir.Column) string) odcsProperty {
	p := odcsProperty{Name: c.Name, LogicalType: logicalType(c), Description: oneLine(c.Description), Required: !c.Nullable}
	if physical != nil && c.Name != "" {
		p.PhysicalType = physical(c)
	}
	switch c.Type {
	case ir.Record:
		for _, f := range c.Fields {
			p.Properties = append(p.Properties, property(f, nil))
		}
	case ir.List:
		item := property(c.Elem, nil)
		item.Required = false
		p.Items = &item
	}
	if c.JSONName != "" && c.JSONName != c.Name {
		p.CustomProperties = append(p.CustomProperties, customProperty{"jsonName", c.JSONName})
	}
	if c.PII != nil {
		p.Classification = "restricted"
		p.CustomProperties = append(p.CustomProperties, customProperty{"piiKind", string(c.PII.Kind)}, customProperty{"piiHandling", string(c.PII.Handling)})
	}
	if len(c.Enum) > 0 {
		p.CustomProperties = append(p.CustomProperties, customProperty{"enum", c.Enum})
	}
	return p
}

// logicalType maps the IR's types to the ODCS 3.0 logical types (string, date,
// number, integer, object, array, boolean).
func logicalType(c *ir.Column) string {
	switch c.Type {
	case ir.String:
		return "string"
	case ir.Int64:
		return "integer"
	case ir.Float64:
		return "number"
	case ir.Bool:
		return "boolean"
	case ir.Timestamp, ir.Date:
		return "date"
	case ir.List:
		return "array"
	}
	return "object"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
