package smoke

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// failedReport has a passed and a failed scenario, a chaos step that did
// not recover and one whose scenario failed too often, and a log with what
// XML must escape.
func failedReport() *Report {
	log := "time=… level=ERROR msg=\"crash <here> & \x1b[31mthere\x1b[0m\"\npanic: boom\n"
	return &Report{
		Topology: "examples/chat/topology.yaml", Profiles: []string{"ci"},
		Started: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), Seconds: 12.5,
		Scenarios: []ScenarioResult{
			{Name: "chat", Seconds: 5, Passed: true, Counts: Counts{Bots: 30, LoggedIn: 30, Requests: 1500, Pushes: 1470}},
			{Name: "echo", Seconds: 3, Counts: Counts{Bots: 2, LoggedIn: 2, Requests: 40, Failed: 25},
				Failures: []Failure{{Bot: "echo-x-1", Step: "loop step 1 (request chat.chatHandler.echo)", Server: "connector-server-2", Message: `the reply {"code":500} does not match reply.code == 200`, Log: log}}},
		},
		Chaos: []ChaosResult{
			{Name: "kill chat", Action: "kill", Server: "chat-server-1", Seconds: 10, MaxFailed: -1, Error: "chat-server-1 (killed with SIGKILL) was not running again within 10s", Log: log},
			{Name: "stop chat", Action: "stop", Server: "chat-server-2", RecoveredSeconds: 0.2, Seconds: 2, During: "echo", MaxFailed: 0,
				Counts: &Counts{Bots: 2, Requests: 80, Failed: 3}, Error: "3 of the 80 requests of echo failed; the step allows 0"},
		},
	}
}

// TestJUnitMatchesTheSchema checks what --junit writes against a JUnit XML
// schema with xmllint (Debian's libxml2-utils, which install.sh --test
// installs), and that a failure carries its words and the server's log.
func TestJUnitMatchesTheSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is not installed (./install.sh --test installs libxml2-utils)")
	}
	for name, r := range map[string]*Report{
		"failed":  failedReport(),
		"passed":  {Topology: "t.yaml", Started: time.Now(), Passed: true, Scenarios: []ScenarioResult{{Name: "a", Passed: true}}},
		"stopped": {Topology: "t.yaml", Started: time.Now(), Error: "stopped"},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := r.WriteJUnit(&buf); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "junit.xml")
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(xmllint, "--noout", "--schema", "testdata/junit.xsd", file).CombinedOutput()
			if err != nil {
				t.Fatalf("xmllint: %v\n%s\n%s", err, out, buf.String())
			}
		})
	}

	var buf bytes.Buffer
	if err := failedReport().WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Suites[0]
	if doc.Tests != 4 || doc.Failures != 3 || s.Tests != 4 || s.Failures != 3 {
		t.Errorf("tests %d/%d, failures %d/%d; want 4 tests, 3 failures", doc.Tests, s.Tests, doc.Failures, s.Failures)
	}
	want := []struct {
		name, message string
		text          []string
	}{
		{"scenario chat", "", nil},
		{"scenario echo", `echo-x-1: loop step 1 (request chat.chatHandler.echo): the reply {"code":500} does not match reply.code == 200 (on connector-server-2)`,
			[]string{"the end of connector-server-2's log:", "crash <here> & ", "panic: boom", "… and 24 more"}},
		{"chaos kill chat", "chat-server-1 (killed with SIGKILL) was not running again within 10s", []string{"the end of chat-server-1's log:", "panic: boom"}},
		{"chaos stop chat", "3 of the 80 requests of echo failed; the step allows 0", nil},
	}
	for i, w := range want {
		c := s.Cases[i]
		if c.Name != w.name {
			t.Errorf("case %d is %q, want %q", i, c.Name, w.name)
			continue
		}
		if w.message == "" {
			if c.Failure != nil {
				t.Errorf("%s: a failure %q, want none", c.Name, c.Failure.Message)
			}
			continue
		}
		if c.Failure == nil {
			t.Errorf("%s: no failure, want %q", c.Name, w.message)
			continue
		}
		if c.Failure.Message != w.message {
			t.Errorf("%s: failure message %q, want %q", c.Name, c.Failure.Message, w.message)
		}
		for _, part := range w.text {
			if !strings.Contains(c.Failure.Text, part) {
				t.Errorf("%s: the failure's text lacks %q:\n%s", c.Name, part, c.Failure.Text)
			}
		}
	}
}

func TestReportText(t *testing.T) {
	var buf bytes.Buffer
	failedReport().WriteText(&buf)
	got := buf.String()
	for _, want := range []string{
		"ok    scenario chat: 30 bots, 1500 requests, 0 failed, 1470 pushes in 5.0s\n",
		"FAIL  scenario echo: 2 bots, 40 requests, 25 failed, 0 pushes in 3.0s\n",
		"      echo-x-1: loop step 1 (request chat.chatHandler.echo): the reply {\"code\":500} does not match reply.code == 200 (on connector-server-2)\n",
		"      the end of connector-server-2's log:\n        time=…",
		"      … and 24 more\n",
		"FAIL  chaos kill chat (chat-server-1)\n      chat-server-1 (killed with SIGKILL) was not running again within 10s\n",
		"FAIL  chaos stop chat (chat-server-2): back in 0.20s; echo played: 2 bots, 80 requests, 3 failed, 0 pushes\n",
		"smoke FAILED: 1 passed, 3 failed in 12.5s\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the text report lacks %q:\n%s", want, got)
		}
	}
}
