package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Streams are Server-Sent Events (text/event-stream): "id:", "event:" and
// one "data:" line of JSON an event, and a comment every keepAlive so that
// a reader (and a proxy) can tell a quiet master from a gone one.
const (
	keepAlive = 10 * time.Second
	// writeWait is how long one write may take: a reader that takes no
	// more for that long is cut off (its own stream only: publishing
	// never waits for a reader).
	writeWait = 10 * time.Second
	// logPoll is how often a followed log is looked at for more.
	logPoll = 100 * time.Millisecond
)

// ServeEvents serves j's events at GET /api/v1/events to readers (any
// level): a snapshot of the cluster first unless the reader resumes
// (?since=ID or Last-Event-ID) from an event j still keeps, then every
// event as it comes, stats once a second, and an end event when the
// stream ends.
func (s *Server) ServeEvents(j *Journal) {
	s.mux.HandleFunc("GET /api/v1/events", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.authorize(w, r, "events"); !ok {
			return
		}
		since := r.URL.Query().Get("since")
		if since == "" {
			since = r.Header.Get("Last-Event-ID")
		}
		sub, replay, resumed, last := j.Subscribe(since)
		defer sub.Close()
		out := startStream(w)
		if !resumed {
			snap, err := s.snapshot(r.Context(), last)
			if err != nil {
				_ = out.send(Event{ID: last, Kind: KindEnd, At: time.Now(), Reason: err.Error()})
				return
			}
			replay = append([]Event{snap}, replay...)
		}
		for _, e := range replay {
			if out.send(e) != nil {
				return
			}
		}
		if out.flush() != nil {
			return
		}
		tick := time.NewTicker(keepAlive)
		defer tick.Stop()
		for {
			select {
			case e, ok := <-sub.C:
				if !ok {
					_ = out.send(Event{ID: last, Kind: KindEnd, At: time.Now(), Reason: sub.Reason()})
					_ = out.flush()
					return
				}
				last = e.ID
				if out.send(e) != nil {
					return
				}
				// What else has come goes in the same write.
				for more := true; more; {
					select {
					case e, ok := <-sub.C:
						if !ok {
							more = false
							continue
						}
						last = e.ID
						if out.send(e) != nil {
							return
						}
					default:
						more = false
					}
				}
				if out.flush() != nil {
					return
				}
			case <-tick.C:
				if out.comment("keep-alive") != nil || out.flush() != nil {
					return
				}
			case <-r.Context().Done():
				return
			}
		}
	})
}

// snapshot is every server and the master as they are, standing for every
// event up to last.
func (s *Server) snapshot(ctx context.Context, last string) (Event, error) {
	servers, err := s.cluster.Servers(ctx)
	if err != nil {
		return Event{}, err
	}
	info, err := s.cluster.Info(ctx)
	if err != nil {
		return Event{}, err
	}
	return Event{ID: last, Kind: KindSnapshot, At: time.Now(), Servers: servers, Master: &info}, nil
}

// followLogs serves GET /api/v1/logs/{id}/stream?offset=N: a server's log
// (or the master's) from offset N (default: its last 20 lines) as "log"
// events, each a LogChunk, as it grows.
func (s *Server) followLogs(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorize(w, r, "logs"); !ok {
		return
	}
	req := LogRequest{ID: r.PathValue("id"), Offset: -1, Tail: 20}
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeError(w, Errorf(http.StatusBadRequest, "offset %q is not a number", v))
			return
		}
		req.Offset = n
	}
	if v := r.URL.Query().Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, Errorf(http.StatusBadRequest, "tail %q is not a count of lines", v))
			return
		}
		req.Tail = n
	}
	chunk, err := s.cluster.Logs(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	out := startStream(w)
	poll := time.NewTicker(logPoll)
	defer poll.Stop()
	quiet := time.Now()
	for {
		if chunk.Data != "" {
			if out.sendAs("log", strconv.FormatInt(chunk.Next, 10), chunk) != nil || out.flush() != nil {
				return
			}
			quiet = time.Now()
		} else if time.Since(quiet) >= keepAlive {
			if out.comment("keep-alive") != nil || out.flush() != nil {
				return
			}
			quiet = time.Now()
		}
		select {
		case <-poll.C:
		case <-r.Context().Done():
			return
		}
		next, err := s.cluster.Logs(r.Context(), LogRequest{ID: req.ID, Offset: chunk.Next})
		if err != nil {
			_ = out.send(Event{Kind: KindEnd, At: time.Now(), Reason: err.Error()})
			_ = out.flush()
			return
		}
		chunk = next
	}
}

// stream writes Server-Sent Events.
type stream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startStream(w http.ResponseWriter) stream {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not hold events back
	w.WriteHeader(http.StatusOK)
	return stream{w: w, rc: http.NewResponseController(w)}
}

func (s stream) send(e Event) error { return s.sendAs(e.Kind, e.ID, e) }

func (s stream) sendAs(kind, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(writeWait))
	if id != "" {
		_, err = fmt.Fprintf(s.w, "id: %s\nevent: %s\ndata: %s\n\n", id, kind, data)
	} else {
		_, err = fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", kind, data)
	}
	return err
}

func (s stream) comment(text string) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(writeWait))
	_, err := fmt.Fprintf(s.w, ": %s\n\n", text)
	return err
}

func (s stream) flush() error { return s.rc.Flush() }
