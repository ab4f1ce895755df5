package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/orch-io/orch/api"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"
)

// printObjects prints objects as JSON or YAML in their wire form: one
// object alone when single, else an array (even of one).
func (a *app) printObjects(objs []proto.Message, single bool) error {
	raws := make([]json.RawMessage, len(objs))
	for i, m := range objs {
		b, err := api.MarshalObject(m)
		if err != nil {
			return err
		}
		raws[i] = b
	}
	if single && len(raws) == 1 {
		return a.printJSON(raws[0])
	}
	b, err := json.Marshal(raws)
	if err != nil {
		return err
	}
	return a.printJSON(b)
}

// printValue prints a plain Go value (api.Cluster, ...) as JSON or YAML.
func (a *app) printValue(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return a.printJSON(b)
}

// printJSON prints a JSON document indented, or converted to YAML with -o
// yaml.
func (a *app) printJSON(doc []byte) error {
	if a.output == outYAML {
		y, err := yaml.JSONToYAML(doc)
		if err != nil {
			return fmt.Errorf("yaml: %w", err)
		}
		_, err = a.stdout.Write(y)
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, doc, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := a.stdout.Write(buf.Bytes())
	return err
}

// writeTable aligns rows under header in columns.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(cleanCells(r), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// An empty last cell (no message) would leave padding at the end.
	var out strings.Builder
	for line := range strings.Lines(buf.String()) {
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// indent writes a table under a describe or plan heading, two spaces in.
func indent(w io.Writer, header []string, rows [][]string) {
	var buf strings.Builder
	_ = writeTable(&buf, header, rows)
	for line := range strings.Lines(buf.String()) {
		fmt.Fprint(w, "  "+line)
	}
}

// cleanCells keeps a multi-line message or a tab in a value from breaking
// the columns.
func cleanCells(r []string) []string {
	out := make([]string, len(r))
	for i, c := range r {
		out[i] = strings.Join(strings.Fields(c), " ")
		if c != "" && out[i] == "" {
			out[i] = "-"
		}
	}
	return out
}

// streamTable prints rows as they come (get -w), in columns as wide as the
// widest cell seen so far: tabwriter can only align what it holds at once.
type streamTable struct {
	w      io.Writer
	widths []int
}

// hint is a row of cells known to come later (the longest event name), so
// that the columns need not shift when it does.
func newStreamTable(w io.Writer, header, hint []string, rows [][]string) *streamTable {
	t := &streamTable{w: w}
	t.fit(header)
	t.fit(hint)
	for _, r := range rows {
		t.fit(cleanCells(r))
	}
	t.print(header)
	for _, r := range rows {
		t.print(r)
	}
	return t
}

func (t *streamTable) fit(r []string) {
	for i, c := range r {
		if i >= len(t.widths) {
			t.widths = append(t.widths, 0)
		}
		t.widths[i] = max(t.widths[i], utf8.RuneCountInString(c))
	}
}

func (t *streamTable) print(r []string) {
	r = cleanCells(r)
	t.fit(r)
	var b strings.Builder
	for i, c := range r {
		if i == len(r)-1 {
			b.WriteString(c)
			break
		}
		b.WriteString(c)
		b.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(c)+3))
	}
	fmt.Fprintln(t.w, strings.TrimRight(b.String(), " "))
}
