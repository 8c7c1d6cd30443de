package cluster

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/udf"
)

// TestTableFunctionPipelines: a table function over a scan is part of
// the worker pipeline unless it is volatile or reads no input; its plan
// line names its module, so another module under the same name is
// another plan.
func TestTableFunctionPipelines(t *testing.T) {
	scan, release := scanPlan(memory.NewGoAllocator())
	defer release()
	call := func(volatile bool, hash string) *udf.Call {
		return &udf.Call{F: &udf.Function{Name: "words", Volatile: volatile, Module: &udf.Module{Hash: hash}}}
	}
	cases := []struct {
		name string
		op   *exec.TableFunction
		want bool
	}{
		{"LATERAL over a scan", &exec.TableFunction{Call: call(false, "aa"), Input: scan, Lateral: true, Out: testSchema}, true},
		{"over a relation argument", &exec.TableFunction{Call: call(false, "aa"), Input: &exec.Filter{Input: scan}, Out: testSchema}, true},
		{"volatile", &exec.TableFunction{Call: call(true, "aa"), Input: scan, Lateral: true, Out: testSchema}, false},
		{"over constant arguments", &exec.TableFunction{Call: call(false, "aa"), Out: testSchema}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, ok := workerPipeline(c.op, nil, joins, joinLimits{broadcastRows: BroadcastRows})
			if ok != c.want || ok && len(p.scans) != 1 {
				t.Errorf("worker pipeline: %v with %d scans, want %v", ok, len(p.scans), c.want)
			}
		})
	}
	a := &exec.TableFunction{Call: call(false, "aa11"), Input: scan, Lateral: true, Out: testSchema}
	b := &exec.TableFunction{Call: call(false, "bb22"), Input: scan, Lateral: true, Out: testSchema}
	if Fingerprint(a) == Fingerprint(b) || !strings.Contains(PlanText(a), "module aa11") {
		t.Errorf("the plan text should name the module:\n%s\n%s", PlanText(a), PlanText(b))
	}
}
