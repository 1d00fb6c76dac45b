package connector

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A browser's upgrade request can carry kilobytes of cookies, far more than
// the reader that sniffs the connection holds.
func TestUpgradeWithLongHeaders(t *testing.T) {
	s, _ := start(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{"Cookie": {"session=" + strings.Repeat("c", 6000)}, "User-Agent": {strings.Repeat("Mozilla/5.0 ", 100)}}
	c, resp, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+s.Addr().String()+"/", h)
	if err != nil {
		t.Fatalf("upgrade: %v (%v)", err, resp)
	}
	defer c.Close()
	// a handshake whose message is larger than the reader's buffer too
	user := `{"name":"` + strings.Repeat("u", 3000) + `"}`
	if err := c.WriteMessage(websocket.BinaryMessage, packet(1, []byte(`{"sys":{"type":"test","version":"1"},"user":`+user+`}`))); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil || len(msg) < 4 || msg[0] != 1 || !strings.Contains(string(msg), `"code":200`) {
		t.Fatalf("handshake answer: %q %v", msg, err)
	}
}
