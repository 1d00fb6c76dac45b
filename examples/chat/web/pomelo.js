// A small Pomelo client for the browser: Pomelo's packages and messages
// over WebSocket (docs/protocol.md), the handshake with its route
// dictionary and pomelo-protobuf protos, heartbeats, requests, notifies
// and pushes. Bodies go out as JSON; a response or push whose route has a
// server proto is read as pomelo-protobuf, any other as JSON.

const PACKAGE = { handshake: 1, handshakeAck: 2, heartbeat: 3, data: 4, kick: 5 };
const MESSAGE = { request: 0, notify: 1, response: 2, push: 3 };

const utf8 = { encode: (s) => new TextEncoder().encode(s), decode: (b) => new TextDecoder().decode(b) };

function encodePackage(type, body = new Uint8Array(0)) {
  const out = new Uint8Array(4 + body.length);
  out[0] = type;
  out[1] = (body.length >> 16) & 0xff;
  out[2] = (body.length >> 8) & 0xff;
  out[3] = body.length & 0xff;
  out.set(body, 4);
  return out;
}

// The server writes one package per WebSocket message, but the protocol
// allows several.
function decodePackages(bytes) {
  const out = [];
  for (let off = 0; off + 4 <= bytes.length; ) {
    const n = (bytes[off + 1] << 16) | (bytes[off + 2] << 8) | bytes[off + 3];
    out.push({ type: bytes[off], body: bytes.subarray(off + 4, off + 4 + n) });
    off += 4 + n;
  }
  return out;
}

// readVarint reads a base-128 number, low 7 bits first, as message ids
// and pomelo-protobuf's numbers are written.
function readVarint(r) {
  let v = 0;
  for (let mul = 1; ; mul *= 128) {
    if (r.off >= r.end) throw new Error('a message ends in the middle of a number');
    const b = r.bytes[r.off++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
  }
}

function encodeMessage(type, id, route, body) {
  const head = [(type << 1) | (typeof route === 'number' ? 1 : 0)];
  if (type === MESSAGE.request) {
    do {
      head.push((id % 128) | (id >= 128 ? 0x80 : 0));
      id = Math.floor(id / 128);
    } while (id > 0);
  }
  if (typeof route === 'number') {
    head.push(route >> 8, route & 0xff); // its code in the route dictionary
  } else {
    const r = utf8.encode(route);
    if (r.length > 255) throw new Error(`route ${route} is longer than 255 bytes`);
    head.push(r.length, ...r);
  }
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function decodeMessage(bytes) {
  const r = { bytes, off: 1, end: bytes.length };
  const type = (bytes[0] >> 1) & 7;
  const msg = { type, id: 0, route: undefined };
  if (type === MESSAGE.request || type === MESSAGE.response) msg.id = readVarint(r);
  if (type !== MESSAGE.response) {
    if (bytes[0] & 1) {
      msg.route = (bytes[r.off] << 8) | bytes[r.off + 1];
      r.off += 2;
    } else {
      const n = bytes[r.off++];
      msg.route = utf8.decode(bytes.subarray(r.off, r.off + n));
      r.off += n;
    }
  }
  msg.body = bytes.subarray(r.off);
  return msg;
}

// decodeProto reads a pomelo-protobuf message, which is not Google's
// encoding (docs/protocol.md), with a proto in the parsed form the
// handshake carries: {field: {option, type, tag}, __messages, __tags}.
function decodeProto(bytes, proto, protos) {
  return readProtoMessage({ bytes, off: 0, end: bytes.length }, proto, protos);
}

function readProtoMessage(r, proto, protos) {
  const out = {};
  while (r.off < r.end) {
    const tag = Math.floor(readVarint(r) / 8);
    const name = proto.__tags && proto.__tags[tag];
    if (name === undefined) throw new Error(`tag ${tag} is not in the proto`);
    const field = proto[name];
    if (field.option !== 'repeated') {
      out[name] = readProtoValue(r, field.type, proto, protos);
      continue;
    }
    const list = out[name] || (out[name] = []);
    if (['uInt32', 'int32', 'sInt32', 'float', 'double'].includes(field.type)) {
      // Numbers are packed: a count, then the numbers.
      for (let n = readVarint(r); n > 0; n--) list.push(readProtoValue(r, field.type, proto, protos));
    } else {
      list.push(readProtoValue(r, field.type, proto, protos));
    }
  }
  return out;
}

function readProtoValue(r, type, proto, protos) {
  const fixed = (size, read) => {
    if (r.off + size > r.end) throw new Error('a message ends in the middle of a number');
    const v = read(new DataView(r.bytes.buffer, r.bytes.byteOffset + r.off, size));
    r.off += size;
    return v;
  };
  switch (type) {
    case 'uInt32':
      return readVarint(r);
    case 'int32':
    case 'sInt32': {
      const v = readVarint(r);
      return v % 2 ? -(v + 1) / 2 : v / 2;
    }
    case 'float':
      return fixed(4, (d) => d.getFloat32(0, true));
    case 'double':
      return fixed(8, (d) => d.getFloat64(0, true));
    case 'string': {
      const n = readVarint(r);
      if (r.off + n > r.end) throw new Error('a string runs past the end of its message');
      const s = utf8.decode(r.bytes.subarray(r.off, r.off + n));
      r.off += n;
      return s;
    }
  }
  const nested = (proto.__messages && proto.__messages[type]) || protos['message ' + type];
  if (!nested) throw new Error(`type ${type} is neither a scalar nor a message of the proto`);
  const n = readVarint(r);
  if (r.off + n > r.end) throw new Error(`a ${type} runs past the end of its message`);
  const sub = { bytes: r.bytes, off: r.off, end: r.off + n };
  r.off += n;
  return readProtoMessage(sub, nested, protos);
}

// PomeloClient is one connection to a frontend (a gate or a connector).
export class PomeloClient {
  constructor() {
    this.pushHandlers = new Map(); // route → fn(body)
    this.pending = new Map(); // request id → {route, resolve, reject}
    this.nextId = 1;
    this.routeToCode = {};
    this.codeToRoute = {};
    this.protos = { server: {}, client: {} };
    this.onclose = () => {}; // fn(reason), once the connection is gone
  }

  // on calls fn with the body of every push on route.
  on(route, fn) {
    this.pushHandlers.set(route, fn);
  }

  // connect opens a WebSocket to host:port and shakes hands; it resolves
  // once the server may be sent requests.
  connect(host, port) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${host}:${port}`);
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      let ready = false;
      ws.onopen = () => {
        const hello = { sys: { type: 'js-websocket', version: '0.0.1' }, user: {} };
        ws.send(encodePackage(PACKAGE.handshake, utf8.encode(JSON.stringify(hello))));
      };
      ws.onerror = () => {
        if (!ready) reject(new Error(`cannot connect to ${host}:${port}`));
      };
      ws.onclose = () => {
        clearTimeout(this.heartbeatTimer);
        clearTimeout(this.silenceTimer);
        for (const p of this.pending.values()) p.reject(new Error('the connection closed'));
        this.pending.clear();
        if (ready) this.onclose(this.kickReason || 'the connection closed');
        else reject(new Error(`${host}:${port} closed the connection during the handshake`));
      };
      ws.onmessage = (event) => {
        for (const pkg of decodePackages(new Uint8Array(event.data))) {
          try {
            if (pkg.type === PACKAGE.handshake && !ready) {
              this.handshake(JSON.parse(utf8.decode(pkg.body)));
              ready = true;
              resolve();
            } else {
              this.receive(pkg);
            }
          } catch (err) {
            if (!ready) reject(err);
            else console.error(err);
            ws.close();
          }
        }
      };
    });
  }

  handshake(answer) {
    if (answer.code === 501) throw new Error('the server refused this client version');
    if (answer.code !== 200) throw new Error(`the handshake failed (code ${answer.code})`);
    const sys = answer.sys || {};
    this.heartbeat = (sys.heartbeat || 0) * 1000;
    if (sys.dict) {
      this.routeToCode = sys.dict;
      for (const [route, code] of Object.entries(sys.dict)) this.codeToRoute[code] = route;
    }
    if (sys.protos) this.protos = { server: sys.protos.server || {}, client: sys.protos.client || {} };
    this.ws.send(encodePackage(PACKAGE.handshakeAck));
  }

  receive(pkg) {
    if (this.heartbeat) {
      // Two intervals without a word: the server is gone.
      clearTimeout(this.silenceTimer);
      this.silenceTimer = setTimeout(() => this.ws.close(), 2 * this.heartbeat);
    }
    switch (pkg.type) {
      case PACKAGE.heartbeat:
        clearTimeout(this.heartbeatTimer);
        this.heartbeatTimer = setTimeout(() => this.send(encodePackage(PACKAGE.heartbeat)), this.heartbeat);
        return;
      case PACKAGE.kick:
        this.kickReason = 'kicked: ' + (JSON.parse(utf8.decode(pkg.body)).reason || 'no reason given');
        return;
      case PACKAGE.data:
        break;
      default:
        return;
    }
    const msg = decodeMessage(pkg.body);
    if (msg.type === MESSAGE.response) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      p.resolve(this.decodeBody(p.route, msg.body));
      return;
    }
    const route = typeof msg.route === 'number' ? this.codeToRoute[msg.route] : msg.route;
    const fn = this.pushHandlers.get(route);
    if (fn) fn(this.decodeBody(route, msg.body));
  }

  decodeBody(route, bytes) {
    const proto = this.protos.server[route];
    if (proto) return decodeProto(bytes, proto, this.protos.server);
    return bytes.length ? JSON.parse(utf8.decode(bytes)) : {};
  }

  encodeBody(route, body) {
    if (this.protos.client[route]) throw new Error(`route ${route} has a client proto, and this client writes JSON only`);
    return utf8.encode(JSON.stringify(body));
  }

  // request sends body on route and resolves with the answer.
  request(route, body) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const code = this.routeToCode[route];
      if (!this.send(encodePackage(PACKAGE.data, encodeMessage(MESSAGE.request, id, code || route, this.encodeBody(route, body))))) {
        reject(new Error('not connected'));
        return;
      }
      this.pending.set(id, { route, resolve, reject });
    });
  }

  notify(route, body) {
    const code = this.routeToCode[route];
    this.send(encodePackage(PACKAGE.data, encodeMessage(MESSAGE.notify, 0, code || route, this.encodeBody(route, body))));
  }

  // send reports whether bytes went out: not once the connection closed.
  send(bytes) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(bytes);
    return true;
  }

  disconnect() {
    this.onclose = () => {};
    if (this.ws) this.ws.close();
  }
}
