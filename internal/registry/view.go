package registry

import (
	"encoding/json"
	"fmt"

	"github.com/accord-dev/accord/internal/contract"
)

// FamilySummary describes one contract family in GET /v1/contracts. Owner,
// status, retention, event names, description and PII come from the latest
// version.
type FamilySummary struct {
	Vendor        string          `json:"vendor"`
	Name          string          `json:"name"`
	Format        string          `json:"format"`
	Description   string          `json:"description,omitempty"`
	Owner         *contract.Owner `json:"owner,omitempty"`
	Status        contract.Status `json:"status"`
	Versions      []string        `json:"versions"`
	Latest        string          `json:"latest"`
	LatestURI     string          `json:"latest_uri"`
	Retention     string          `json:"retention,omitempty"`
	RetentionDays int             `json:"retention_days,omitempty"`
	ReplacedBy    string          `json:"replaced_by,omitempty"`
	Sunset        string          `json:"sunset,omitempty"`
	EventNames    []string        `json:"event_names"`
	PII           []PIIField      `json:"pii"`
}

// PIIField is one field carrying personal data, as the PII summary lists it.
type PIIField struct {
	// Field is the field's JSON pointer pattern in the event data ("*" for every
	// array item), e.g. /items/*/email.
	Field    string            `json:"field"`
	Kind     contract.Kind     `json:"kind"`
	Handling contract.Handling `json:"handling"`
	Reason   string            `json:"reason,omitempty"`
}

// FamilyDetail is GET /v1/contracts/{vendor}/{name}: the family summary and every
// version in full, oldest first.
type FamilyDetail struct {
	FamilySummary
	VersionDetails []VersionDetail `json:"version_details"`
}

// VersionDetail describes one contract version: its annotations, its fields and
// the stored shape that the scrubber leaves.
type VersionDetail struct {
	Version     string             `json:"version"`
	URI         string             `json:"uri"`
	SchemaURL   string             `json:"schema_url"`
	Description string             `json:"description,omitempty"`
	Draft       contract.Draft     `json:"draft"`
	Owner       *contract.Owner    `json:"owner,omitempty"`
	Lifecycle   contract.Lifecycle `json:"lifecycle"`
	Privacy     *contract.Privacy  `json:"privacy,omitempty"`
	EventNames  []string           `json:"event_names"`
	Fields      []FieldInfo        `json:"fields"`
	// StoredSchema is the stored-shape schema (contract.Contract.StoredDoc).
	StoredSchema json.RawMessage `json:"stored_schema"`
}

// FieldInfo is one field of a contract version.
type FieldInfo struct {
	// Path is the field's JSON pointer pattern in the event data, e.g. /items/*/sku.
	Path string `json:"path"`
	Name string `json:"name"`
	// SchemaPointer locates the field's schema in the contract document.
	SchemaPointer string        `json:"schema_pointer"`
	Types         []string      `json:"types,omitempty"`
	Required      bool          `json:"required"`
	Description   string        `json:"description,omitempty"`
	PII           *contract.PII `json:"pii,omitempty"`
}

// view holds every response body that depends only on the snapshot, encoded once
// when the snapshot is loaded, so that serving is a map lookup and a write.
type view struct {
	// schemas is each contract document as JSON, by key.
	schemas map[contract.Key][]byte
	// contracts is the GET /v1/contracts body.
	contracts []byte
	// families is the GET /v1/contracts/{vendor}/{name} body, by vendor/name.
	families map[[2]string][]byte
}

func buildView(snap *contract.Snapshot) (*view, error) {
	v := &view{schemas: make(map[contract.Key][]byte, snap.Len()), families: map[[2]string][]byte{}}
	for _, c := range snap.All() {
		b, err := encodeDoc(c.Contract, c.Doc)
		if err != nil {
			return nil, err
		}
		v.schemas[c.Key] = b
	}
	summaries := []FamilySummary{}
	for _, f := range snap.Families() {
		versions := snap.Versions(f)
		if len(versions) == 0 {
			continue
		}
		sum := summarize(f, versions)
		summaries = append(summaries, sum)
		detail := FamilyDetail{FamilySummary: sum}
		for _, c := range versions {
			d, err := describe(c.Contract)
			if err != nil {
				return nil, err
			}
			detail.VersionDetails = append(detail.VersionDetails, d)
		}
		b, err := marshal(detail)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", f, err)
		}
		v.families[[2]string{f.Vendor, f.Name}] = b
	}
	b, err := marshal(struct {
		Contracts []FamilySummary `json:"contracts"`
	}{summaries})
	if err != nil {
		return nil, fmt.Errorf("encoding the contract list: %w", err)
	}
	v.contracts = b
	return v, nil
}

// summarize describes a family from its versions, oldest first.
func summarize(f contract.Family, versions []*contract.Compiled) FamilySummary {
	latest := versions[len(versions)-1].Contract
	s := FamilySummary{
		Vendor:        f.Vendor,
		Name:          f.Name,
		Format:        f.Format,
		Description:   latest.Description,
		Owner:         latest.Owner,
		Status:        latest.Lifecycle.Status,
		Latest:        latest.Key.Version.String(),
		LatestURI:     latest.Key.URI(),
		Retention:     latest.Lifecycle.Retention,
		RetentionDays: latest.Lifecycle.RetentionDays,
		ReplacedBy:    latest.Lifecycle.ReplacedBy,
		Sunset:        latest.Lifecycle.Sunset,
		EventNames:    nonNil(latest.EventNames),
		PII:           []PIIField{},
	}
	for _, c := range versions {
		s.Versions = append(s.Versions, c.Key.Version.String())
	}
	for _, fl := range latest.PII() {
		s.PII = append(s.PII, PIIField{Field: fl.DataPointer(), Kind: fl.PII.Kind, Handling: fl.PII.Handling, Reason: fl.PII.Reason})
	}
	return s
}

func describe(c *contract.Contract) (VersionDetail, error) {
	stored, err := encodeDoc(c, c.StoredDoc())
	if err != nil {
		return VersionDetail{}, err
	}
	d := VersionDetail{
		Version:      c.Key.Version.String(),
		URI:          c.Key.URI(),
		SchemaURL:    "/api/schemas/" + c.Key.Path(),
		Description:  c.Description,
		Draft:        c.Draft,
		Owner:        c.Owner,
		Lifecycle:    c.Lifecycle,
		Privacy:      c.Privacy,
		EventNames:   nonNil(c.EventNames),
		Fields:       []FieldInfo{},
		StoredSchema: stored,
	}
	for _, f := range c.Fields {
		d.Fields = append(d.Fields, FieldInfo{
			Path:          f.DataPointer(),
			Name:          f.Name(),
			SchemaPointer: f.Pointer,
			Types:         f.Types,
			Required:      f.Required,
			Description:   f.Description,
			PII:           f.PII,
		})
	}
	return d, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
