package controlplane

import (
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/anishathalye/porcupine"
)

// The model: each service is a register whose value is its env VALUE ("" =
// the service does not exist). Every write writes a unique value and gets a
// new version, so a conditional write (If-Match: the version read with
// value x) can succeed only while the value is still x, and may be refused
// only once it is not: the workload's services have no replicas, so their
// rollouts end in the same entry as the write (the FSM records them
// completed) and nothing but a client write moves their version. A
// create-only write (If-Match: 0) may be refused only once the service
// exists.

type opKind int

const (
	opRead opKind = iota
	opWrite
)

type regInput struct {
	key  string
	kind opKind
	// value is what a write writes.
	value string
	// cond: the write carries If-Match; it may apply only if the register
	// holds expect (the value read together with that version).
	cond   bool
	expect string
}

// Outcomes of a write. unknown: the client did not learn whether it
// applied (a timeout, a dropped connection, a 503 from a leader that died
// mid-write); its return time is the end of history, so it may take effect
// at any point after its call, or never (equivalently, at the very end).
type regOutput struct {
	value   string // a read's result
	ok      bool   // a write applied
	refused bool   // a conditional write got 409
	unknown bool
}

// neverReturned is the return time of operations whose outcome is unknown.
const neverReturned = math.MaxInt64

var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(regInput).key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(string), input.(regInput), output.(regOutput)
		if in.kind == opRead {
			return out.value == st, st
		}
		holds := !in.cond || st == in.expect
		switch {
		case out.unknown:
			if holds {
				return true, in.value
			}
			return true, st
		case out.refused:
			return in.cond && st != in.expect, st
		default:
			return holds, in.value
		}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(regInput), output.(regOutput)
		if in.kind == opRead {
			return fmt.Sprintf("get(%s) -> %q", in.key, out.value)
		}
		cond := ""
		if in.cond {
			cond = fmt.Sprintf(" if %q", in.expect)
		}
		res := "ok"
		switch {
		case out.unknown:
			res = "?"
		case out.refused:
			res = "409"
		}
		return fmt.Sprintf("put(%s, %q%s) -> %s", in.key, in.value, cond, res)
	},
}

// TestModelCatchesViolations makes sure the model is not vacuous: lost
// writes, stale reads and a conditional write that ignored its condition
// are all rejected, and the legal variants accepted.
func TestModelCatchesViolations(t *testing.T) {
	w := func(client int, call, ret int64, value string, out regOutput) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: regInput{key: "k", kind: opWrite, value: value}, Call: call, Output: out, Return: ret}
	}
	cas := func(client int, call, ret int64, expect, value string, out regOutput) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: regInput{key: "k", kind: opWrite, value: value, cond: true, expect: expect}, Call: call, Output: out, Return: ret}
	}
	r := func(client int, call, ret int64, value string) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: regInput{key: "k", kind: opRead}, Call: call, Output: regOutput{value: value}, Return: ret}
	}
	ok, refused, unknown := regOutput{ok: true}, regOutput{refused: true}, regOutput{unknown: true}
	cases := []struct {
		name    string
		history []porcupine.Operation
		legal   bool
	}{
		{"write then read", []porcupine.Operation{w(0, 0, 1, "a", ok), r(1, 2, 3, "a")}, true},
		{"lost acknowledged write", []porcupine.Operation{w(0, 0, 1, "a", ok), r(1, 2, 3, "")}, false},
		{"stale read after a newer write", []porcupine.Operation{w(0, 0, 1, "a", ok), w(0, 2, 3, "b", ok), r(1, 4, 5, "a")}, false},
		{"concurrent read may see either", []porcupine.Operation{w(0, 0, 1, "a", ok), w(0, 2, 6, "b", ok), r(1, 3, 4, "a")}, true},
		{"unknown write may apply later", []porcupine.Operation{w(0, 0, neverReturned, "a", unknown), r(1, 5, 6, ""), r(1, 7, 8, "a")}, true},
		{"unknown write may never apply", []porcupine.Operation{w(0, 0, neverReturned, "a", unknown), r(1, 5, 6, "")}, true},
		{"unknown write cannot apply before its call", []porcupine.Operation{r(1, 0, 1, "a"), w(0, 2, neverReturned, "a", unknown)}, false},
		{"conditional write on a matching value", []porcupine.Operation{w(0, 0, 1, "a", ok), cas(1, 2, 3, "a", "b", ok), r(0, 4, 5, "b")}, true},
		{"conditional write that ignored its condition", []porcupine.Operation{w(0, 0, 1, "a", ok), cas(1, 2, 3, "x", "b", ok)}, false},
		{"refused create-only write on an empty register", []porcupine.Operation{cas(0, 0, 1, "", "b", refused)}, false},
		{"refused create-only write after another create", []porcupine.Operation{w(0, 0, 1, "a", ok), cas(1, 2, 3, "", "b", refused)}, true},
		{"refusal on a matching value", []porcupine.Operation{w(0, 0, 1, "a", ok), cas(1, 2, 3, "a", "b", refused), r(0, 4, 5, "a")}, false},
		{"refused blind write", []porcupine.Operation{w(0, 0, 1, "a", refused)}, false},
		{"refused conditional write on a changed value", []porcupine.Operation{w(0, 0, 1, "a", ok), w(0, 2, 3, "c", ok), cas(1, 4, 5, "a", "b", refused), r(1, 6, 7, "c")}, true},
		{"create-only on an empty register", []porcupine.Operation{cas(0, 0, 1, "", "a", ok), cas(1, 2, 3, "", "b", refused)}, true},
	}
	for _, c := range cases {
		if got := porcupine.CheckOperations(registerModel, c.history); got != c.legal {
			t.Errorf("%s: linearizable = %v, want %v", c.name, got, c.legal)
		}
	}
}
