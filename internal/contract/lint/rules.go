package lint

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/report"
)

// Rule describes one check of accord lint.
type Rule struct {
	// ID is the rule's stable kebab-case name, used in output, --disable and
	// x-lint directives.
	ID       string
	Severity report.Severity
	// Doc says in one line what the rule checks.
	Doc string
	// Loader marks rules whose findings come from the loader or the compiler. The
	// registry refuses a contract with such a problem whatever lint says, so a
	// contract cannot silence them; only --disable hides them from a run.
	Loader bool
}

// Rule ids of the checks lint adds to the loader's and compiler's.
const (
	RuleVersionSequence     = "version-sequence"
	RuleDescription         = "description-present"
	RuleDescriptionShort    = "description-too-short"
	RulePII                 = "pii-annotated"
	RuleKeepReason          = "pii-keep-reason"
	RuleTokenizePrivacy     = "tokenize-needs-privacy"
	RulePrivacyDefined      = "privacy-field-defined"
	RulePrivacyRequired     = "privacy-field-required"
	RuleRetentionPresent    = "retention-present"
	RuleClosed              = "additional-properties-closed"
	RuleSnakeCase           = "property-name-snake-case"
	RuleTypeDeclared        = "type-declared"
	RuleRequiredDefined     = "required-defined"
	RuleEnumUnique          = "enum-unique"
	RuleRefLocal            = "ref-local"
	RuleReplacedBy          = "deprecated-replaced-by"
	RuleReplacedByExists    = "replaced-by-exists"
	RuleDraft               = "prefer-draft-2020-12"
	RuleEventNamesUnique    = "event-names-unique"
	RuleDirective           = "lint-directive"
	RuleFastPath            = "fast-validator-path"
	minDescriptionChars     = 10
	additionalPropertiesWhy = "x-additional-properties-reason"
)

// rules is the one list of every rule, in the order documentation shows them.
var rules = []Rule{
	{ID: contract.RuleParse, Severity: report.Error, Loader: true, Doc: "The file is one YAML or JSON document holding a JSON Schema object, in UTF-8, under the size limit."},
	{ID: contract.RuleLayout, Severity: report.Error, Loader: true, Doc: "Files sit at <vendor>/<name>/jsonschema/<MODEL-REVISION-ADDITION>[.json|.yaml|.yml], once per version, and are not symlinks."},
	{ID: contract.RuleSelf, Severity: report.Error, Loader: true, Doc: "The self block is present and names the vendor, name, format and version of the file's path."},
	{ID: contract.RuleCompile, Severity: report.Error, Loader: true, Doc: "The contract is a valid JSON Schema of a supported draft, and compiles without fetching anything."},
	{ID: contract.RuleAnnotation, Severity: report.Error, Loader: true, Doc: "x-owner, x-lifecycle, x-privacy, x-pii and x-event-names are well-formed."},
	{ID: contract.RuleRetention, Severity: report.Error, Loader: true, Doc: "x-lifecycle.retention is a positive ISO-8601 duration such as P400D."},
	{ID: contract.RuleOwner, Severity: report.Error, Doc: "The contract names the team that answers for it in x-owner.team."},
	{ID: RuleVersionSequence, Severity: report.Error, Doc: "The SchemaVer versions of a contract start at 1-0-0 and each follows an existing one without gaps."},
	{ID: RuleRefLocal, Severity: report.Error, Loader: true, Doc: "Every $ref points inside the contract (#/$defs/...) at something that exists; no URLs, no files."},
	{ID: RuleRequiredDefined, Severity: report.Error, Doc: "Every name listed in required is defined under properties."},
	{ID: RuleEnumUnique, Severity: report.Error, Doc: "The values of an enum are unique."},
	{ID: RuleDescription, Severity: report.Warning, Doc: "The contract and every property, nested ones too, have a description."},
	{ID: RuleDescriptionShort, Severity: report.Info, Doc: "Descriptions say more than the field's name (at least 10 characters)."},
	{ID: RuleTypeDeclared, Severity: report.Warning, Doc: "Every property declares its type (or a $ref, enum, const or composition that does)."},
	{ID: RuleSnakeCase, Severity: report.Warning, Doc: "Property names are snake_case, so they map to columns in every warehouse unchanged."},
	{ID: RuleClosed, Severity: report.Warning, Doc: "Objects close additionalProperties (false or a schema) or say why in x-additional-properties-reason."},
	{ID: RulePII, Severity: report.Error, Doc: "Fields whose name, format, pattern or examples look like personal data carry x-pii."},
	{ID: RuleKeepReason, Severity: report.Error, Doc: "A PII field kept in plain text (handling keep) says why in x-pii.reason."},
	{ID: RuleTokenizePrivacy, Severity: report.Error, Doc: "A contract that tokenizes a field names x-privacy.controller and x-privacy.subject."},
	{ID: RulePrivacyDefined, Severity: report.Error, Doc: "x-privacy field pointers point at a property the contract defines."},
	{ID: RulePrivacyRequired, Severity: report.Warning, Doc: "x-privacy field pointers point at a required property, so every event has a controller and a subject."},
	{ID: RuleRetentionPresent, Severity: report.Warning, Doc: "The contract says how long its events are kept (x-lifecycle.retention)."},
	{ID: RuleEventNamesUnique, Severity: report.Error, Doc: "An x-event-names entry belongs to one contract family only."},
	{ID: RuleReplacedBy, Severity: report.Info, Doc: "A deprecated or retired contract names its successor in x-lifecycle.replaced_by."},
	{ID: RuleReplacedByExists, Severity: report.Warning, Doc: "x-lifecycle.replaced_by names a contract version that is in the registry."},
	{ID: RuleFastPath, Severity: report.Info, Doc: "The contract compiles to the fast validator's byte-level program; a keyword outside its subset sends its events to the slower reference validator."},
	{ID: RuleDraft, Severity: report.Info, Doc: "Contracts in draft-04 or draft-07 (Iglu's dialects) could move to JSON Schema 2020-12."},
	{ID: RuleDirective, Severity: report.Error, Doc: "x-lint and x-lint-disable directives are well-formed, name known rules and give a reason."},
}

// Rules returns every rule, in documentation order.
func Rules() []Rule { return slices.Clone(rules) }

// lookup returns the rule with id.
func lookup(id string) (Rule, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// WriteRules prints the rule table: id, severity and what the rule checks.
func WriteRules(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rules {
		if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, r.Doc); err != nil {
			return err
		}
	}
	return tw.Flush()
}
