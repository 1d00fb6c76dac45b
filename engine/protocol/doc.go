// Package protocol is the wire codec of NetEase Pomelo's client protocol, so
// that Pomelo, Pitaya and nano clients can talk to pomeloctl unchanged.
//
// It has four layers, each in its own file:
//
//   - packets (packet.go, packet_reader.go): a 4-byte header — 1 byte type,
//     3 bytes big-endian body length — then the body. Pomelo calls these
//     "packages".
//   - messages (message.go, varint.go): the body of a Data packet — a flag
//     byte, a varint message id, a route (inline or as a 2-byte dictionary
//     code), then the payload.
//   - the route dictionary (dictionary.go): route ↔ code, numbered and
//     versioned exactly as Pomelo 2.2.7 does it so clients that cached a
//     dictionary from a Pomelo server keep working.
//   - the handshake and kick bodies (handshake.go): JSON written byte for
//     byte as Pomelo's JSON.stringify would (jsjson.go).
//
// Everything here is safe on hostile input: lengths are checked against the
// caller's limit before any allocation and malformed input is an error,
// never a panic. Encoders are append-style so the connector can reuse
// buffers; decoders alias their input instead of copying it.
package protocol
