// Package report formats the findings of accord lint and accord check for people
// (text), machines (json), GitHub Actions annotations (github) and CI test
// dashboards (junit).
package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Severity orders findings; the worst one decides the exit code.
type Severity int

// Severities, least severe first.
const (
	Info Severity = iota
	Warning
	Error
)

// String names the severity as the output formats print it.
func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// ParseSeverity reads "info", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "info":
		return Info, nil
	case "warning":
		return Warning, nil
	case "error":
		return Error, nil
	}
	return Info, fmt.Errorf("severity %q is not one of info, warning, error", s)
}

// MarshalJSON writes the severity's name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Finding is one result of a check, located in a contract file.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	File     string   `json:"file"`
	Line     int      `json:"line,omitempty"`
	Col      int      `json:"col,omitempty"`
	// Pointer is the JSON pointer of the schema node the finding is about.
	Pointer string `json:"pointer,omitempty"`
	// Contract is the Iglu URI of the contract version concerned.
	Contract string `json:"contract,omitempty"`
	Message  string `json:"message"`
}

// Location formats file:line:col.
func (f Finding) Location() string {
	if f.Line == 0 {
		return f.File
	}
	return f.File + ":" + strconv.Itoa(f.Line) + ":" + strconv.Itoa(f.Col)
}

// Formats lists the output formats Write accepts.
var Formats = []string{"text", "json", "github", "junit"}

// Sort orders findings by file, position and rule, so output is deterministic.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}

// Worst returns the highest severity among findings, and false when there are none.
func Worst(fs []Finding) (Severity, bool) {
	worst, any := Info, false
	for _, f := range fs {
		if !any || f.Severity > worst {
			worst, any = f.Severity, true
		}
	}
	return worst, any
}

// Count returns how many findings have each severity.
func Count(fs []Finding) map[Severity]int {
	n := map[Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	return n
}

// Write prints findings in format; tool names the command ("lint", "check") in
// formats that carry it, and summary is a one-line outcome printed by text.
func Write(w io.Writer, format, tool string, fs []Finding, summary string) error {
	switch format {
	case "", "text":
		return writeText(w, fs, summary)
	case "json":
		return writeJSON(w, tool, fs)
	case "github":
		return writeGitHub(w, tool, fs)
	case "junit":
		return writeJUnit(w, tool, fs)
	}
	return fmt.Errorf("output format %q is not one of %s", format, strings.Join(Formats, ", "))
}

func writeText(w io.Writer, fs []Finding, summary string) error {
	for _, f := range fs {
		if _, err := fmt.Fprintf(w, "%s: %s: %s [%s]\n", f.Location(), f.Severity, f.Message, f.Rule); err != nil {
			return err
		}
	}
	n := Count(fs)
	_, err := fmt.Fprintf(w, "%s: %d %s, %d %s, %d info\n", summary,
		n[Error], plural(n[Error], "error", "errors"), n[Warning], plural(n[Warning], "warning", "warnings"), n[Info])
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func writeJSON(w io.Writer, tool string, fs []Finding) error {
	if fs == nil {
		fs = []Finding{}
	}
	n := Count(fs)
	out := struct {
		Tool     string    `json:"tool"`
		Errors   int       `json:"errors"`
		Warnings int       `json:"warnings"`
		Infos    int       `json:"infos"`
		Findings []Finding `json:"findings"`
	}{tool, n[Error], n[Warning], n[Info], fs}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// writeGitHub prints workflow commands that GitHub Actions turns into annotations
// on the pull request's diff.
func writeGitHub(w io.Writer, tool string, fs []Finding) error {
	for _, f := range fs {
		level := map[Severity]string{Error: "error", Warning: "warning", Info: "notice"}[f.Severity]
		props := "file=" + ghProp(f.File)
		if f.Line > 0 {
			props += ",line=" + strconv.Itoa(f.Line) + ",col=" + strconv.Itoa(f.Col)
		}
		props += ",title=" + ghProp("accord "+tool+" "+f.Rule)
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", level, props, ghData(f.Message)); err != nil {
			return err
		}
	}
	return nil
}

func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// writeJUnit groups findings by file: one suite per file, one case per finding;
// errors and warnings are failures, infos pass with their message as output.
func writeJUnit(w io.Writer, tool string, fs []Finding) error {
	out := junitSuites{Name: "accord " + tool}
	index := map[string]int{}
	for _, f := range fs {
		i, ok := index[f.File]
		if !ok {
			i = len(out.Suites)
			index[f.File] = i
			out.Suites = append(out.Suites, junitSuite{Name: f.File})
		}
		c := junitCase{Name: f.Rule + " " + f.Location(), Classname: "accord." + tool + "." + f.Rule}
		if f.Severity >= Warning {
			c.Failure = &junitFailure{Message: f.Message, Type: f.Severity.String(), Text: f.Location() + ": " + f.Message}
			out.Suites[i].Failures++
			out.Failures++
		} else {
			c.SystemOut = f.Message
		}
		out.Suites[i].Cases = append(out.Suites[i].Cases, c)
		out.Suites[i].Tests++
		out.Tests++
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
