// pbjs.js answers a batch of questions about pomelo-protobuf, for the Go
// interop tests. It reads {"cases": [...]} on stdin and prints a JSON array
// with one result per case, in order.
//
// Usage: node pbjs.js DIR, where DIR/node_modules holds pomelo-protobuf.
//
// Each case has an op:
//   parse        {text}                  → {json: JSON.stringify(parse(JSON.parse(text)))}
//   version      {client, server}        → {version, handshake}: texts or null (absent file),
//                                           computed as Pomelo 2.2.7's protobuf component does
//   encode       {protos, route, msg}    → {hex} (null when pomelo-protobuf returns null),
//                                           server library, encoderProtos = parse(protos)
//   decode       {protos, route, hex}    → {json}, server library, decoderProtos = parse(protos)
//   clientEncode {protos, route, msg}    → {hex}, the browser build (lib/client/protobuf.js)
//   clientDecode {protos, route, hex}    → {json}, the browser build
// msg is JSON text, so that the message object's keys keep the order the
// test wrote them in. A case that throws gives {error}.
'use strict';

const path = require('path');
const crypto = require('crypto');

const root = path.join(process.argv[2], 'node_modules', 'pomelo-protobuf');
const server = require(root);
const client = require(path.join(root, 'lib', 'client', 'protobuf.js'));

function parse(text) {
  return server.parse(JSON.parse(text));
}

// Pomelo's lib/components/protobuf.js: the server file is read first, then the
// client file; an absent file is skipped, leaving {} and, if both are absent,
// the version "".
function version(c) {
  let serverProtos = {};
  let clientProtos = {};
  let v = '';
  for (const [type, text] of [['server', c.server], ['client', c.client]]) {
    if (text === null || text === undefined) {
      continue;
    }
    if (type === 'server') {
      serverProtos = parse(text);
    } else {
      clientProtos = parse(text);
    }
    const protoStr = JSON.stringify(clientProtos) + JSON.stringify(serverProtos);
    v = crypto.createHash('md5').update(protoStr).digest('base64');
  }
  return {
    version: v,
    handshake: JSON.stringify({server: serverProtos, client: clientProtos, version: v}),
  };
}

function hex(bytes) {
  return bytes ? Buffer.from(bytes).toString('hex') : null;
}

function run(c) {
  switch (c.op) {
    case 'parse':
      return {json: JSON.stringify(parse(c.text))};
    case 'version':
      return version(c);
    case 'encode':
      server.init({encoderProtos: parse(c.protos), decoderProtos: {}});
      return {hex: hex(server.encode(c.route, JSON.parse(c.msg)))};
    case 'decode':
      server.init({encoderProtos: {}, decoderProtos: parse(c.protos)});
      return {json: JSON.stringify(server.decode(c.route, Buffer.from(c.hex || '', 'hex')))};
    case 'clientEncode':
      client.init({encoderProtos: parse(c.protos), decoderProtos: {}});
      return {hex: hex(client.encode(c.route, JSON.parse(c.msg)))};
    case 'clientDecode':
      client.init({encoderProtos: {}, decoderProtos: parse(c.protos)});
      return {json: JSON.stringify(client.decode(c.route, new Uint8Array(Buffer.from(c.hex || '', 'hex'))))};
  }
  throw new Error('unknown op ' + c.op);
}

// pomelo-protobuf reports refused messages with console.warn; keep stdout
// for the answer and stderr quiet.
console.warn = () => {};
console.log = () => {};

const chunks = [];
process.stdin.on('data', (d) => chunks.push(d));
process.stdin.on('end', () => {
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const out = req.cases.map((c) => {
    try {
      return run(c);
    } catch (e) {
      return {error: String(e && e.stack || e)};
    }
  });
  process.stdout.write(JSON.stringify(out));
});
