package lifecycle_test

import (
	"fmt"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
)

// The master's run loop owns one Machine per server: it applies each fact
// as it arrives, publishes the events, and carries out the action.
func ExampleMachine_Apply() {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m, err := lifecycle.New("chat-server-1", lifecycle.Policy{
		Restart:        lifecycle.RestartOnFailure,
		MinUptime:      5 * time.Second,
		BackoffInitial: 100 * time.Millisecond,
		BackoffMax:     30 * time.Second,
		MaxRestarts:    5,
		Window:         time.Minute,
	}, func() time.Time { return now })
	if err != nil {
		panic(err)
	}
	for _, f := range []struct {
		wait time.Duration
		c    lifecycle.Cause
	}{
		{0, lifecycle.StartRequested{}},       // pomeloctl up
		{0, lifecycle.Launched{}},             // the master spawned it
		{time.Second, lifecycle.Registered{}}, // its monitor agent dialled in
		{time.Minute, lifecycle.HeartbeatMissed{For: 5 * time.Second}},
		{0, lifecycle.Exit{Signal: "SIGKILL"}},
		{0, lifecycle.MonitorLost{}}, // the link drops as it dies: old news
		{100 * time.Millisecond, lifecycle.RestartDue{}},
	} {
		now = now.Add(f.wait)
		events, action, err := m.Apply(f.c)
		if err != nil {
			fmt.Println(err)
			continue
		}
		for _, e := range events {
			fmt.Printf("%d %s → %s (%s): %s\n", e.Seq, e.From, e.To, e.Cause, e.Reason)
		}
		if action.Kind != lifecycle.NoAction {
			fmt.Println("  master:", action)
		}
	}
	// Output:
	// 1 stopped → starting (start-requested): start requested
	//   master: launch
	// 2 starting → running (registered): registered after 1s
	// 3 running → stopping (heartbeat-missed): no heartbeat for 5s; killing the process group
	//   master: kill
	// 4 stopping → backoff (exited): killed by SIGKILL after 61s (no heartbeat for 5s); restarting in 100ms
	//   master: schedule-restart after 100ms
	// 5 backoff → starting (restart-due): restart 1, after a 100ms back-off
	//   master: launch
}
