package proc

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// ProgramVersion names the build of the program at path, to tell a
// rebuilt program from the one a server runs: "go:" and a digest of a Go
// program's build ID (read from its ELF note, without reading the whole
// file: a server's launch waits for it), else "sha256:" and a digest of
// the file's content.
func ProgramVersion(path string) (string, error) {
	if id, ok := goBuildID(path); ok {
		return "go:" + short([]byte(id)), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("program version: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("program version of %s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)[:6]), nil
}

// goBuildID is the Go build ID in an ELF program's .note.go.buildid: a
// note named "Go" of type 4 whose description is the ID.
func goBuildID(path string) (string, bool) {
	f, err := elf.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return "", false
	}
	data, err := sec.Data()
	if err != nil || len(data) < 16 {
		return "", false
	}
	order := f.ByteOrder
	namesz, descsz, typ := order.Uint32(data), order.Uint32(data[4:]), order.Uint32(data[8:])
	nameEnd := 12 + int((namesz+3)&^3)
	if typ != 4 || namesz != 4 || string(data[12:15]) != "Go\x00" || nameEnd+int(descsz) > len(data) {
		return "", false
	}
	id := strings.TrimRight(string(data[nameEnd:nameEnd+int(descsz)]), "\x00")
	return id, id != ""
}

func short(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}
