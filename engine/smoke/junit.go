package smoke

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
)

// JUnit XML, in the shape of Apache Ant's JUnit report, which Jenkins,
// GitLab, GitHub Actions' reporters and the rest read: one test suite for
// the run, one test case per scenario and per chaos step.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Package    string          `xml:"package,attr"`
	ID         int             `xml:"id,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  junitText       `xml:"system-out"`
	SystemErr  junitText       `xml:"system-err"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitText struct {
	Text string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML. A failed case's message is
// its first failure's words; its text has the failures and the end of the
// failing server's log.
func (r *Report) WriteJUnit(w io.Writer) error {
	host, _ := os.Hostname()
	suite := junitSuite{
		Name: "smoke " + r.Topology, Package: "pomeloctl.smoke",
		Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05"),
		Hostname:  or(host, "localhost"),
		Time:      seconds(r.Seconds),
		Properties: []junitProperty{
			{Name: "topology", Value: r.Topology},
			{Name: "profiles", Value: strings.Join(r.Profiles, ",")},
		},
	}
	add := func(c junitCase) {
		suite.Tests++
		if c.Failure != nil {
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	for _, s := range r.Scenarios {
		c := junitCase{Name: "scenario " + s.Name, Classname: "smoke.scenario", Time: seconds(s.Seconds), SystemOut: &junitText{s.Counts.String()}}
		if !s.Passed {
			c.Failure = scenarioFailure(s)
		}
		add(c)
	}
	for _, ch := range r.Chaos {
		c := junitCase{Name: "chaos " + ch.Name, Classname: "smoke.chaos", Time: seconds(ch.Seconds)}
		var out strings.Builder
		if ch.Server != "" {
			fmt.Fprintf(&out, "%s %s", ch.Action, ch.Server)
			if ch.RecoveredSeconds > 0 {
				fmt.Fprintf(&out, ": back in %.2fs", ch.RecoveredSeconds)
			}
			out.WriteString("\n")
		}
		if ch.Counts != nil {
			fmt.Fprintf(&out, "%s played: %s\n", ch.During, ch.Counts)
		}
		c.SystemOut = &junitText{out.String()}
		if !ch.Passed {
			c.Failure = chaosFailure(ch)
		}
		add(c)
	}
	if r.Error != "" {
		// What ended the run early is a case of its own, so that a CI
		// system shows it even when every case that ran passed.
		add(junitCase{Name: "smoke run", Classname: "smoke.run", Time: seconds(r.Seconds), Failure: &junitFailure{Message: r.Error, Type: "ended", Text: r.Error}})
	}
	doc := junitSuites{Name: "pomeloctl smoke", Tests: suite.Tests, Failures: suite.Failures, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write the JUnit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func scenarioFailure(s ScenarioResult) *junitFailure {
	f := &junitFailure{Type: "failed", Message: s.Counts.String()}
	if len(s.Failures) > 0 {
		f.Message = s.Failures[0].String()
	} else if s.LoggedIn < int64(s.Bots) {
		f.Message = fmt.Sprintf("%d of %d bots logged in", s.LoggedIn, s.Bots)
	}
	var b strings.Builder
	writeFailures(&b, s.Failures, s.Failed)
	f.Text = b.String()
	return f
}

func chaosFailure(c ChaosResult) *junitFailure {
	f := &junitFailure{Type: "failed", Message: c.Error}
	if f.Message == "" && len(c.Failures) > 0 {
		f.Message = c.Failures[0].String()
	}
	var b strings.Builder
	if c.Error != "" {
		b.WriteString(c.Error + "\n")
	}
	n := int64(len(c.Failures))
	if c.Counts != nil {
		n = c.Counts.Failed
	}
	writeFailures(&b, c.Failures, n)
	if c.Log != "" {
		fmt.Fprintf(&b, "the end of %s's log:\n%s", c.Server, c.Log)
	}
	f.Text = b.String()
	return f
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
