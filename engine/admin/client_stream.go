package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ErrStreamEnded is a stream the master ended (an end event): it stops, is
// no longer the leader, or dropped this reader.
var ErrStreamEnded = errors.New("the master ended the stream")

// maxEventLine bounds one event: a stats event of a thousand servers is a
// few hundred kilobytes.
const maxEventLine = 32 << 20

// Events reads the master's event stream, from after event since (a
// snapshot first when since is "" or no longer kept), and calls fn with
// each event until ctx ends, fn returns an error, or the stream ends. It
// returns the ID of the last event read, to resume from, and why it
// stopped: ErrStreamEnded with the master's reason after an end event,
// fn's error, or the connection's.
func (c *Client) Events(ctx context.Context, since string, fn func(Event) error) (last string, err error) {
	last = since
	err = c.stream(ctx, "/api/v1/events", since, func(kind, id string, data []byte) error {
		var e Event
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("admin events: a %s event that is not JSON: %w", kind, err)
		}
		if e.Kind == KindEnd {
			return fmt.Errorf("%w: %s", ErrStreamEnded, e.Reason)
		}
		if id != "" {
			last = id
		}
		return fn(e)
	})
	return last, err
}

// FollowLogs reads server id's log (or the master's, "master") from
// offset (negative: its last tail lines) and calls fn with each chunk as
// the log grows, until ctx ends, fn returns an error, or the stream ends.
func (c *Client) FollowLogs(ctx context.Context, id string, offset int64, tail int, fn func(LogChunk) error) error {
	q := url.Values{"offset": {strconv.FormatInt(offset, 10)}, "tail": {strconv.Itoa(tail)}}
	return c.stream(ctx, "/api/v1/logs/"+url.PathEscape(id)+"/stream?"+q.Encode(), "", func(kind, _ string, data []byte) error {
		if kind == KindEnd {
			var e Event
			_ = json.Unmarshal(data, &e)
			return fmt.Errorf("%w: %s", ErrStreamEnded, e.Reason)
		}
		var chunk LogChunk
		if err := json.Unmarshal(data, &chunk); err != nil {
			return fmt.Errorf("admin logs: a chunk that is not JSON: %w", err)
		}
		return fn(chunk)
	})
}

// stream GETs a Server-Sent Events stream and calls fn with each event's
// kind, id and data.
func (c *Client) stream(ctx context.Context, path, lastID string, fn func(kind, id string, data []byte) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.user, c.password)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin %s: is the master running? %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var answer struct {
			Error string `json:"error"`
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = json.Unmarshal(data, &answer)
		if s := sentinel(resp.StatusCode); s != nil {
			return fmt.Errorf("admin %s: %s: %w", path, answer.Error, s)
		}
		return fmt.Errorf("admin %s: %s (%s)", path, answer.Error, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxEventLine)
	var kind, id string
	var data bytes.Buffer
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				if err := fn(kind, id, data.Bytes()); err != nil {
					return err
				}
			}
			kind, id = "", ""
			data.Reset()
		case strings.HasPrefix(line, ":"): // a comment: the master is there
		case strings.HasPrefix(line, "event:"):
			kind = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(line[len("id:"):])
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(line[len("data:"):], " "))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("admin %s: %w", path, err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("admin %s: %w", path, io.ErrUnexpectedEOF)
}
