package dispatcher

import (
	"net"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// FuzzDecodeRegistration: any body either is refused with a 400 or is a
// registration that passed validation (a name, an IP address, a CSR).
func FuzzDecodeRegistration(f *testing.F) {
	f.Add([]byte(`{"name":"n1","address":"10.0.0.1","agentAddress":"10.0.0.1:7001","csrPem":"x"}`))
	f.Add([]byte(`{"name":"","address":"nope"}`))
	f.Add([]byte(`{"name":"n1","address":"10.0.0.1","capacity":{"cpuMillis":"-1"},"csrPem":"x"}`))
	f.Add([]byte(`{"labels":{"a":"b"},"unknown":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		reg, e := decodeRegistration(body)
		if e != nil {
			if e.HTTPStatus() != 400 {
				t.Fatalf("refused with %d, want 400: %v", e.HTTPStatus(), e)
			}
			return
		}
		if reg.GetName() == "" || len(reg.GetName()) > 253 || net.ParseIP(reg.GetAddress()) == nil || reg.GetCsrPem() == "" {
			t.Fatalf("accepted an invalid registration: %v", reg)
		}
		if _, err := protojson.Marshal(reg); err != nil {
			t.Fatalf("accepted a registration that does not encode again: %v", err)
		}
	})
}

// FuzzDecodeStatusReport: any body either is refused with a 400 or is a
// report for the node it was sent by.
func FuzzDecodeStatusReport(f *testing.F) {
	good, _ := proto.Marshal(&orchpb.StatusReport{NodeId: "n-1", Statuses: []*orchpb.ReplicaStatus{{Id: "r1", State: "running", Ip: "10.244.0.2"}}})
	other, _ := proto.Marshal(&orchpb.StatusReport{NodeId: "n-2"})
	f.Add(good)
	f.Add(other)
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		report, e := decodeStatusReport(body, "n-1")
		if e != nil {
			if e.HTTPStatus() != 400 {
				t.Fatalf("refused with %d, want 400: %v", e.HTTPStatus(), e)
			}
			return
		}
		if report.GetNodeId() != "n-1" {
			t.Fatalf("accepted a report of node %q sent by n-1", report.GetNodeId())
		}
	})
}
