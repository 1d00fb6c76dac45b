// Package protobuf speaks pomelo-protobuf, the message-body encoding a Pomelo
// frontend uses when useProtobuf is on, so that NetEase's own clients can talk
// to pomeloctl unchanged.
//
// pomelo-protobuf is not Google's Protocol Buffers, though it borrows the
// look: protos are JSON files (serverProtos.json for what the server sends,
// clientProtos.json for what clients send) mapping a route to fields such as
// "required string msg": 1. On the wire int32 and sInt32 are both zigzag
// varints, a repeated number field is one tag, an element count and the
// elements, strings and nested messages are length-prefixed, and float and
// double are little-endian. A nested message type is looked up among the
// enclosing message's own "message X" definitions, then among the file's
// top-level "message X" entries — never in the enclosing messages further up.
//
// Parse mirrors pomelo-protobuf's parser, quirks included, because the parsed
// form is what the handshake sends to clients and what the protos version is
// an MD5 of: JSON must be byte for byte what JavaScript's JSON.stringify makes
// of it, or clients that cached the protos would never see them match.
//
// Encoding is stricter than pomelo-protobuf, which coerces (a string "12" for
// a uInt32) or throws midway (null, a negative uInt32, a non-number): here
// such a message is refused with an error naming the route and the field.
// Decoding accepts whatever either of pomelo-protobuf's encoders (Node and
// browser) writes, and refuses truncated or inconsistent input instead of
// guessing.
package protobuf
