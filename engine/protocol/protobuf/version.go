package protobuf

import (
	"crypto/md5"
	"encoding/base64"

	"github.com/pomeloctl/pomeloctl/internal/jsjson"
)

// Version is Pomelo's protos version, which a client sends back in its
// handshake to say it has these protos already: base64(MD5(client.JSON() +
// server.JSON())), an absent file counting as {}.
//
// When both files are absent Pomelo never computes the hash and its version
// stays "", so Version(nil, nil) is "" too. An empty file ({}) is not absent.
func Version(client, server *Protos) string {
	if client == nil && server == nil {
		return ""
	}
	h := md5.New()
	h.Write(client.rawJSON())
	h.Write(server.rawJSON())
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// HandshakeProtos is the protos object of Pomelo's handshake answer, byte for
// byte as Pomelo's getProtos() comes out of JSON.stringify:
// {"server":…,"client":…,"version":"…"}.
func HandshakeProtos(client, server *Protos) []byte {
	s, c := server.rawJSON(), client.rawJSON()
	dst := make([]byte, 0, len(s)+len(c)+64)
	dst = append(dst, `{"server":`...)
	dst = append(dst, s...)
	dst = append(dst, `,"client":`...)
	dst = append(dst, c...)
	dst = append(dst, `,"version":`...)
	dst = jsjson.AppendString(dst, Version(client, server))
	return append(dst, '}')
}
