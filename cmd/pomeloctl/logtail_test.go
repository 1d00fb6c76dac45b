package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestConsole(t *testing.T) {
	var out bytes.Buffer
	c := newConsole(&out, []string{"gate-server-1", "master"})
	c.line("master", "hello\n")
	w := c.writer("gate-server-1")
	w.Write([]byte("one\ntw"))
	w.Write([]byte("o\n"))
	c.block("TABLE\n")
	c.close()
	c.line("master", "after close") // dropped, not a panic
	want := "master        | hello\ngate-server-1 | one\ngate-server-1 | two\nTABLE\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Error("colours on a buffer that is not a terminal")
	}
}
