package measure

import (
	"io"
	"net"
	"testing"
	"time"
)

func TestOwnTCPBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1000)
		if _, err := io.ReadFull(c, buf); err == nil {
			_, _ = c.Write(buf[:300])
		}
		_, _ = io.Copy(io.Discard, c)
	}()
	ports := map[int]bool{ln.Addr().(*net.TCPAddr).Port: true}
	before, err := OwnTCPBytes(ports)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, make([]byte, 300)); err != nil {
		t.Fatal(err)
	}
	var got TCPBytes
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		after, err := OwnTCPBytes(ports)
		if err != nil {
			t.Fatal(err)
		}
		// Only the client's end has the listener's port as its peer. The
		// kernel counts the SYN as one byte acknowledged.
		if got = after.Sub(before); got.Sent >= 1000 && got.Sent <= 1001 && got.Received == 300 && got.Conns == 1 {
			return
		}
	}
	t.Fatalf("counted %+v, want 1000 sent, 300 received on 1 connection", got)
}

func TestTCPBytesSub(t *testing.T) {
	got := TCPBytes{Sent: 50, Received: 70, Conns: 2}.Sub(TCPBytes{Sent: 80, Received: 20, Conns: 3})
	if got.Sent != 0 || got.Received != 50 || got.Conns != 2 {
		t.Errorf("Sub = %+v, want a count that fell to be 0", got)
	}
}
