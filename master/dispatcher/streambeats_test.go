package dispatcher

import (
	"io"
	"sync"
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protodelim"
)

// clock is a settable clock for heartbeat times.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// beatAt waits until the leader's heartbeat of node a is want.
func beatAt(t *testing.T, d *Dispatcher, want time.Time, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got, ok := d.LastHeartbeat("a"); ok && got.Equal(want) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, _ := d.LastHeartbeat("a")
	t.Fatalf("%s: heartbeat of a at %s, want %s", what, got, want)
}

// TestStreamBeats: an agent that asks with beats=true is told the master
// takes heartbeats up the stream; each zero byte it sends is a heartbeat
// of its node, kept by the leader; a message that says more ends the
// taking (statuses go as requests); a stream without beats=true says
// nothing of beats.
func TestStreamBeats(t *testing.T) {
	clk := &clock{now: time.Unix(1000, 0)}
	rig := newStreamRigWith(t, Deps{Now: clk.Now})
	body, up := io.Pipe()
	defer up.Close()
	msgs, header, stop := rig.openWith(t, "delta=true&peers=false&beats=true", body)
	defer stop()
	if got := header.Get(headerBeats); got != "stream" {
		t.Fatalf("%s: %q, want stream", headerBeats, got)
	}
	next(t, msgs, "the first set")
	for i := range 3 {
		at := clk.advance(time.Second)
		if _, err := up.Write([]byte{0}); err != nil {
			t.Fatalf("beat %d: %v", i, err)
		}
		beatAt(t, rig.d, at, "a beat up the stream")
	}
	last := clk.Now()
	news, _ := protodelim.MarshalTo(up, &orchpb.StatusReport{Statuses: []*orchpb.ReplicaStatus{{Id: "r1", State: string(orchpb.ReplicaRunning)}}})
	if news == 0 {
		t.Fatal("could not send a report with a status up the stream")
	}
	clk.advance(time.Second)
	_, _ = up.Write([]byte{0}) // not taken any more; the write may fail once the master stops reading
	time.Sleep(100 * time.Millisecond)
	if got, _ := rig.d.LastHeartbeat("a"); !got.Equal(last) {
		t.Errorf("a beat after a report with news was taken (heartbeat at %s, want %s)", got, last)
	}
	_, plain, stopPlain := rig.open(t, "delta=true&peers=false")
	defer stopPlain()
	if got := plain.Get(headerBeats); got != "" {
		t.Errorf("a stream without beats=true answers %s %q", headerBeats, got)
	}
}

// TestStreamBeatsAtAFollower: a follower relays the beats that come up
// its streams to the leader, as it does bare heartbeats sent as requests;
// out of touch with the leader it takes none and ends the stream, so that
// the agent beats through another master.
func TestStreamBeatsAtAFollower(t *testing.T) {
	clk := &clock{now: time.Unix(1000, 0)}
	lastContact := clk.Now() // the leader is heard no more from here on
	rig := newStreamRigWith(t, Deps{Now: clk.Now, IsLeader: func() bool { return false }, LeaderContact: func() time.Time { return lastContact }})
	body, up := io.Pipe()
	defer up.Close()
	msgs, _, stop := rig.openWith(t, "delta=true&peers=false&beats=true", body)
	defer stop()
	next(t, msgs, "the first set")
	if _, err := up.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got := rig.d.relay.take(); len(got) == 1 && got[0] == "a" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the follower did not relay the beat of node a")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, ok := rig.d.LastHeartbeat("a"); ok {
		t.Error("a follower kept a heartbeat: they are the leader's")
	}
	clk.advance(leaderContactLimit)
	_, _ = up.Write([]byte{0})
	select {
	case _, open := <-msgs:
		if open {
			t.Fatal("a message instead of the end of the stream")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a follower out of touch with the leader kept the stream open")
	}
	if got := rig.d.relay.take(); len(got) != 0 {
		t.Errorf("a follower out of touch with the leader relayed %v", got)
	}
}

// TestStreamOpeningIsABeat: the request that opens a beating stream is
// the node heard, before its first beat comes up the body.
func TestStreamOpeningIsABeat(t *testing.T) {
	clk := &clock{now: time.Unix(1000, 0)}
	rig := newStreamRigWith(t, Deps{Now: clk.Now})
	at := clk.advance(time.Minute)
	body, up := io.Pipe()
	defer up.Close()
	msgs, _, stop := rig.openWith(t, "delta=true&peers=false&beats=true", body)
	defer stop()
	next(t, msgs, "the first set")
	beatAt(t, rig.d, at, "the stream's opening")
}
