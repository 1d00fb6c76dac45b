package gate

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/topology"
)

func TestQueryEntry(t *testing.T) {
	// Listed out of order: the gate takes connectors in order of their ids.
	entries := []Entry{
		{ID: "connector-server-3", Host: "127.0.0.1", Port: 3052},
		{ID: "connector-server-1", Host: "127.0.0.1", Port: 3050},
		{ID: "connector-server-2", Host: "10.0.0.2", Port: 3051},
	}
	h := Handler(func() []Entry { return entries })
	for _, tc := range []struct {
		body, want string
	}{
		// crc32("alice") = 663665735, mod 3 = 2 → the third connector by id
		{`{"uid":"alice"}`, `{"code":200,"host":"127.0.0.1","port":3052}`},
		// crc32("10086") = 1443254904, mod 3 = 0; a numeric uid counts as its digits
		{`{"uid":10086}`, `{"code":200,"host":"127.0.0.1","port":3050}`},
		{`{}`, `{"code":500}`},
		{`{"uid":""}`, `{"code":500}`},
		{`not json`, `{"code":500}`},
	} {
		res, err := h(context.Background(), nil, &connector.Request{Route: Route, Body: json.RawMessage(tc.body)})
		got, _ := json.Marshal(res)
		if err != nil || string(got) != tc.want {
			t.Errorf("queryEntry %s: got %s (%v), want %s", tc.body, got, err, tc.want)
		}
	}
	entries = nil
	res, _ := h(context.Background(), nil, &connector.Request{Route: Route, Body: json.RawMessage(`{"uid":"alice"}`)})
	if got, _ := json.Marshal(res); string(got) != `{"code":500}` {
		t.Errorf("no connectors: got %s, want {\"code\":500}", got)
	}
}

func TestEntriesOfTheChatExample(t *testing.T) {
	top, _, err := topology.Load("../../examples/chat/topology.yaml", topology.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := Handler(func() []Entry { return EntriesOf(top.Types.Get("connector").Servers) })
	// crc32("alice") mod 3 = 2: connector-server-3 on 3052
	res, _ := h(context.Background(), nil, &connector.Request{Route: Route, Body: json.RawMessage(`{"uid":"alice"}`)})
	if got, _ := json.Marshal(res); string(got) != `{"code":200,"host":"127.0.0.1","port":3052}` {
		t.Errorf("queryEntry alice on the chat example: got %s", got)
	}
}
