package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func serverEvent(id, to string) Event {
	return Event{Kind: KindServer, Server: &ServerEvent{ID: id, To: to}}
}

// A reader resumes after any event the journal still keeps, and gets a
// snapshot instead for one it does not (another master's epoch, too old,
// from the future).
func TestJournalResumes(t *testing.T) {
	j := NewJournal(3, 4, 16)
	for i := range 6 {
		j.Publish(serverEvent(fmt.Sprintf("s%d", i+1), "running"))
	}
	sub, replay, resumed, last := j.Subscribe("3-4")
	defer sub.Close()
	var ids []string
	for _, e := range replay {
		ids = append(ids, e.ID+" "+e.Server.ID)
	}
	if !resumed || strings.Join(ids, ",") != "3-5 s5,3-6 s6" || last != "3-6" {
		t.Errorf("resume after 3-4: %v %v (last %s); want 3-5 and 3-6", resumed, ids, last)
	}
	for _, since := range []string{"", "2-5", "3-1", "3-9", "nonsense"} {
		s, replay, resumed, _ := j.Subscribe(since)
		s.Close()
		if resumed || len(replay) != 0 {
			t.Errorf("since %q: resumed %v with %d events; want a snapshot", since, resumed, len(replay))
		}
	}
	if _, replay, resumed, _ := j.Subscribe("3-6"); !resumed || len(replay) != 0 {
		t.Errorf("since the last event: %v %d; want resumed with nothing to replay", resumed, len(replay))
	}
	// Stats carry the last ID, and are not kept.
	j.Publish(Event{Kind: KindStats})
	if e := <-sub.C; e.Kind != KindStats || e.ID != "3-6" {
		t.Errorf("stats event: %+v; want it to carry 3-6", e)
	}
	if _, replay, _, _ := j.Subscribe("3-5"); len(replay) != 1 {
		t.Errorf("a stats event was kept for resumption: %d replayed", len(replay))
	}
}

// A reader that lets its buffer fill is dropped with the reason, without
// the publisher waiting; the others go on. Close ends every stream.
func TestJournalDropsASlowReader(t *testing.T) {
	j := NewJournal(1, 8, 2)
	slow, _, _, _ := j.Subscribe("")
	fast, _, _, _ := j.Subscribe("")
	got := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range fast.C {
			got++
		}
	}()
	published := make(chan struct{})
	go func() {
		for i := range 100 {
			j.Publish(serverEvent(fmt.Sprint(i), "running"))
			time.Sleep(time.Millisecond)
		}
		close(published)
	}()
	select {
	case <-published:
	case <-time.After(10 * time.Second):
		t.Fatal("publishing waited for a reader")
	}
	n := 0
	for range slow.C {
		n++
	}
	if n != 2 || !strings.Contains(slow.Reason(), "fell 2 events behind") {
		t.Errorf("the slow reader got %d events, then %q; want 2 and dropped", n, slow.Reason())
	}
	j.Close("the master stopped")
	<-done
	if got != 100 || fast.Reason() != "the master stopped" {
		t.Errorf("the fast reader got %d events, then %q; want 100, then the master's reason", got, fast.Reason())
	}
	late, _, _, _ := j.Subscribe("")
	if _, ok := <-late.C; ok || late.Reason() != "the master stopped" {
		t.Errorf("a reader after Close: %q; want the stream ended at once", late.Reason())
	}
}

// growingLog is a cluster whose logs grow by a line each time they are
// read to their end.
type growingLog struct {
	fakeCluster
	mu   sync.Mutex
	text string
}

func (g *growingLog) Logs(_ context.Context, r LogRequest) (LogChunk, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.ID != "chat-server-1" {
		return LogChunk{}, Errorf(404, "no server %q", r.ID)
	}
	if r.Offset < 0 {
		r.Offset = 0
	}
	chunk := LogChunk{ID: r.ID, Data: g.text[r.Offset:], Next: int64(len(g.text))}
	g.text += fmt.Sprintf("line %d\n", strings.Count(g.text, "\n")+1)
	return chunk, nil
}

// Over HTTP: a snapshot, then events as they come; resumption from an
// event's ID; the end of the stream with the master's reason; readers of
// level 2 allowed, wrong credentials refused; a log followed as it grows.
func TestEventStream(t *testing.T) {
	g := &growingLog{text: "line 1\n"}
	j := NewJournal(2, 64, 64)
	users := []User{{Name: "admin", Password: "s3cret", Level: LevelAct}, {Name: "monitor", Password: "ro", Level: LevelRead}}
	srv := NewServer(users, g, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.ServeEvents(j)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	addr := strings.TrimPrefix(hs.URL, "http://")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	j.Publish(serverEvent("chat-server-1", "running"))
	events := make(chan Event, 16)
	ended := make(chan error, 1)
	var last string
	go func() {
		var err error
		last, err = NewClient(addr, "monitor", "ro").Events(ctx, "", func(e Event) error { events <- e; return nil })
		ended <- err
	}()
	if e := <-events; e.Kind != KindSnapshot || e.ID != "2-1" || len(e.Servers) != 1 || e.Master == nil || e.Master.ID != "master-server-1" {
		t.Fatalf("first event: %+v; want the snapshot as of 2-1", e)
	}
	for !j.Listening() {
		time.Sleep(time.Millisecond)
	}
	j.Publish(serverEvent("chat-server-1", "stopping"))
	j.Publish(Event{Kind: KindReady})
	if e := <-events; e.Kind != KindServer || e.ID != "2-2" || e.Server.To != "stopping" {
		t.Errorf("second event: %+v", e)
	}
	if e := <-events; e.Kind != KindReady || e.ID != "2-3" {
		t.Errorf("third event: %+v", e)
	}
	j.Close("this master is no longer the leader")
	if err := <-ended; !errors.Is(err, ErrStreamEnded) || !strings.Contains(err.Error(), "no longer the leader") || last != "2-3" {
		t.Errorf("the end: %v (last %s); want ErrStreamEnded with the reason after 2-3", err, last)
	}

	if _, err := NewClient(addr, "monitor", "wrong").Events(ctx, "", func(Event) error { return nil }); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong credentials: %v; want ErrUnauthorized", err)
	}

	var lines []string
	err := NewClient(addr, "monitor", "ro").FollowLogs(ctx, "chat-server-1", -1, 20, func(c LogChunk) error {
		lines = append(lines, strings.Split(strings.TrimSpace(c.Data), "\n")...)
		if len(lines) >= 3 {
			return io.EOF
		}
		return nil
	})
	if !errors.Is(err, io.EOF) || strings.Join(lines[:3], ",") != "line 1,line 2,line 3" {
		t.Errorf("followed log: %q, %v; want line 1, 2, 3 as it grew", lines, err)
	}
	if err := NewClient(addr, "monitor", "ro").FollowLogs(ctx, "nosuch", -1, 20, func(LogChunk) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("following the log of no server: %v; want ErrNotFound", err)
	}
}

// A reader resumes over HTTP from the ID it last read, and gets only what
// came after.
func TestEventStreamResumes(t *testing.T) {
	j := NewJournal(5, 64, 64)
	srv := NewServer([]User{{Name: "admin", Password: "s3cret", Level: LevelAct}}, &fakeCluster{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.ServeEvents(j)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	for _, id := range []string{"a", "b", "c"} {
		j.Publish(serverEvent(id, "running"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	stop := errors.New("enough")
	_, err := NewClient(strings.TrimPrefix(hs.URL, "http://"), "admin", "s3cret").Events(ctx, "5-1", func(e Event) error {
		got = append(got, e.ID+" "+e.Server.ID)
		if len(got) == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || strings.Join(got, ",") != "5-2 b,5-3 c" {
		t.Errorf("resumed after 5-1: %v, %v; want 5-2 b and 5-3 c", got, err)
	}
}
