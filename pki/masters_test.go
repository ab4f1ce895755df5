package pki

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

func TestVerifyMaster(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	master, _ := ca.IssueMaster([]string{"127.0.0.1"})
	agent, _ := ca.IssueServer("node:web-1", []string{"127.0.0.1"})
	stranger, _ := other.IssueMaster([]string{"127.0.0.1"})
	cases := []struct {
		name    string
		raw     [][]byte
		wantErr string
	}{
		{"master of this cluster", master.Certificate, ""},
		{"agent of this cluster", agent.Certificate, "not a master"},
		{"master of another cluster", stranger.Certificate, "not signed"},
		{"nothing", nil, "no certificate"},
		{"garbage", [][]byte{[]byte("x")}, "peer certificate"},
	}
	for _, c := range cases {
		err := ca.VerifyMaster(c.raw)
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.wantErr)
		}
	}
}

// TestMasterTLS runs real handshakes: masters reach each other, an agent's
// certificate or none is refused.
func TestMasterTLS(t *testing.T) {
	ca, _ := NewCA()
	serverCert, _ := ca.IssueMaster([]string{"127.0.0.1"})
	clientCert, _ := ca.IssueMaster([]string{"10.9.9.9"}) // another host: names are not checked
	agentCert, _ := ca.IssueServer("node:a", []string{"127.0.0.1"})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ca.MasterServerTLS(NewLiveCert(serverCert)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*tls.Conn).Handshake()
				_, _ = c.Write([]byte("ok"))
			}()
		}
	}()
	dial := func(cert *tls.Certificate) error {
		var live *LiveCert
		if cert != nil {
			live = NewLiveCert(*cert)
		}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), ca.MasterClientTLS(live))
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 2)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(buf)
		return err
	}
	if err := dial(&clientCert); err != nil {
		t.Errorf("master to master: %v", err)
	}
	if err := dial(&agentCert); err == nil {
		t.Error("an agent's certificate was accepted by a master-only listener")
	}
	if err := dial(nil); err == nil {
		t.Error("a client without a certificate was accepted by a master-only listener")
	}
}
