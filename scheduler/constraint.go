package scheduler

import (
	"fmt"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
)

// Constraint is one placement expression, "KEY == VALUE" or "KEY != VALUE",
// on a node label or on node.name / node.id.
type Constraint struct {
	Key   string
	Equal bool
	Value string
}

// ParseConstraint parses a placement expression. It is used at apply time
// (so a bad expression is a 400) and by the scheduler.
func ParseConstraint(expr string) (Constraint, error) {
	for _, op := range []string{"==", "!="} {
		key, value, found := strings.Cut(expr, op)
		if !found {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if key == "" || value == "" || strings.ContainsAny(value, "=!") || strings.ContainsAny(key, "=! \t") {
			return Constraint{}, fmt.Errorf("%q: want KEY == VALUE or KEY != VALUE", expr)
		}
		return Constraint{Key: key, Equal: op == "==", Value: value}, nil
	}
	return Constraint{}, fmt.Errorf("%q: want KEY == VALUE or KEY != VALUE", expr)
}

// String renders the constraint the way users write it.
func (c Constraint) String() string {
	op := "!="
	if c.Equal {
		op = "=="
	}
	return c.Key + " " + op + " " + c.Value
}

// Matches reports whether node n satisfies the constraint. A node without
// the label fails == and passes != (it certainly is not that value).
func (c Constraint) Matches(n *orchpb.Node) bool {
	v, ok := nodeAttr(n, c.Key)
	if c.Equal {
		return ok && v == c.Value
	}
	return !ok || v != c.Value
}

// nodeAttr looks a key up the way constraints and spreadBy name it:
// node.name and node.id are the node's own fields, anything else a label.
func nodeAttr(n *orchpb.Node, key string) (string, bool) {
	switch key {
	case "node.name":
		return n.GetName(), true
	case "node.id":
		return n.GetId(), true
	}
	v, ok := n.GetLabels()[key]
	return v, ok
}
