package measure

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// TCPBytes are what a process's TCP connections carried, by the kernel's
// count (TCP payload: TLS records and HTTP framing included).
type TCPBytes struct {
	// Sent counts bytes the peers acknowledged (a connection's SYN counts
	// one); Received bytes that came.
	Sent, Received uint64
	// Conns is how many connections were counted.
	Conns int
}

// Sub is what was carried between before and b. A connection closed
// between the two takes its bytes with it, so over a window where
// connections come and go this undercounts; over a quiet one it is exact.
func (b TCPBytes) Sub(before TCPBytes) TCPBytes {
	return TCPBytes{Sent: b.Sent - min(before.Sent, b.Sent), Received: b.Received - min(before.Received, b.Received), Conns: b.Conns}
}

// OwnTCPBytes sums tcpi_bytes_acked and tcpi_bytes_received over this
// process's TCP sockets whose peer port is in ports, found through
// /proc/self/fd. It only reads (getpeername, getsockopt TCP_INFO); a
// descriptor closed while it looks is skipped.
func OwnTCPBytes(ports map[int]bool) (TCPBytes, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return TCPBytes{}, fmt.Errorf("measure: list own descriptors: %w", err)
	}
	var out TCPBytes
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if !ports[peerPort(fd)] {
			continue
		}
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			continue
		}
		out.Sent += info.Bytes_acked
		out.Received += info.Bytes_received
		out.Conns++
	}
	return out, nil
}

// peerPort is the remote port of socket fd, or 0 when fd is not a
// connected IP socket.
func peerPort(fd int) int {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return 0
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port
	case *unix.SockaddrInet6:
		return a.Port
	}
	return 0
}
