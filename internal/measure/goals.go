package measure

import (
	"fmt"
	"strings"
)

// Figure is one measured figure and the goal it is held to.
type Figure struct {
	Name  string
	Value float64
	Unit  string
	// Goal is the bound; AtLeast says Value must reach it, otherwise Value
	// must stay under it (at most). NoGoal: a figure shown for context.
	Goal    float64
	AtLeast bool
	NoGoal  bool
	// Missing: the figure could not be measured (its phase failed).
	Missing bool
}

// Verdict is "met", "MISSED", "not measured" or "" (no goal).
func (f Figure) Verdict() string {
	switch {
	case f.Missing:
		return "not measured"
	case f.NoGoal:
		return ""
	case f.AtLeast && f.Value >= f.Goal, !f.AtLeast && f.Value <= f.Goal:
		return "met"
	}
	return "MISSED"
}

// Table renders figures as lines beginning "| ": figure, value, goal and
// verdict.
func Table(figs []Figure) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %-44s | %14s | %14s | %s\n", "figure", "measured", "goal", "verdict")
	for _, f := range figs {
		value, goal := "-", ""
		if !f.Missing {
			value = fmt.Sprintf("%.4g %s", f.Value, f.Unit)
		}
		if !f.NoGoal {
			op := "<="
			if f.AtLeast {
				op = ">="
			}
			goal = fmt.Sprintf("%s %.4g %s", op, f.Goal, f.Unit)
		}
		fmt.Fprintf(&b, "| %-44s | %14s | %14s | %s\n", f.Name, value, goal, f.Verdict())
	}
	return b.String()
}
