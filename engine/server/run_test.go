package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/topology"
)

// freePort finds a free loopback port, so that parallel test runs do not clash.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRunTheChatGate runs the chat example's gate (its ports shifted to a free
// one) and asks it for alice's connector, as chatofpomelo's client does.
func TestRunTheChatGate(t *testing.T) {
	port := freePort(t)
	offset := port - 3014
	top, _, err := topology.Load("../../examples/chat/topology.yaml", topology.Options{PortOffset: &offset})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Topology: top, ID: "gate-server-1", Logger: quiet(), Ready: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("the gate did not start: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the gate did not start within 5s")
	}
	c, err := client.Dial(ctx, "127.0.0.1:"+strconv.Itoa(port), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	resp, err := c.Request(rctx, "gate.gateHandler.queryEntry", []byte(`{"uid":"alice"}`))
	want := `{"code":200,"host":"127.0.0.1","port":` + strconv.Itoa(3052+offset) + `}`
	if err != nil || string(resp) != want {
		t.Errorf("queryEntry alice: got %s (%v), want %s", resp, err, want)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stop: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the gate did not stop")
	}
	<-c.Done()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// chatTopology is the chat example shifted to ports nobody else uses: a
// test never listens on a topology's own ports, where a developer's
// cluster may run.
func chatTopology(t *testing.T) (*topology.Topology, int) {
	t.Helper()
	offset, err := freeport.Offset(3005, 3014, 3050, 3051, 3052, 4050, 4051, 4052, 6050, 6051, 6052)
	if err != nil {
		t.Fatal(err)
	}
	top, _, err := topology.Load("../../examples/chat/topology.yaml", topology.Options{PortOffset: &offset})
	if err != nil {
		t.Fatal(err)
	}
	return top, offset
}

// TestRunABackendAlone runs a backend without a master, as `pomeloctl serve`
// by hand does: it starts, and stops when told.
func TestRunABackendAlone(t *testing.T) {
	top, _ := chatTopology(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Topology: top, ID: "chat-server-1", Logger: quiet(), Ready: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("the backend did not start: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stop: %v", err)
	}
}

func TestRunRefusesAnUnknownServer(t *testing.T) {
	top, _ := chatTopology(t)
	err := Run(context.Background(), Config{Topology: top, ID: "nosuch", Logger: quiet()})
	if err == nil || !strings.Contains(err.Error(), `no server "nosuch"`) {
		t.Errorf("an unknown id: got %v", err)
	}
}

// A frontend whose client port is taken fails before anything of it
// serves: its RPC port is let go, and it never registers with the master.
func TestAServerWhosePortIsTakenStartsNothing(t *testing.T) {
	top, _ := chatTopology(t)
	s := top.Server("connector-server-1")
	taken, err := net.Listen("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.ClientPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	hub, addr := hubFor(t)
	err = Run(context.Background(), Config{Topology: top, ID: s.ID, Master: addr, Token: "s3cret", Logger: quiet()})
	if err == nil || !strings.Contains(err.Error(), "provision frontend") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Run: %v; want the frontend's port refused at provision", err)
	}
	if m := hub.Members(); len(m) != 0 {
		t.Errorf("the master saw %v register", m)
	}
	rpcPort, err := net.Listen("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))
	if err != nil {
		t.Errorf("the RPC port was not let go: %v", err)
	} else {
		rpcPort.Close()
	}
}
