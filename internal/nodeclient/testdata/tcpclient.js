// tcpclient.js: a small Pomelo TCP client, the scenario language of wsclient.js
// over a raw socket.
//
// npm pomelo-protocol (what Pomelo's servers use) has no JS TCP client, so this
// is one, built on its Package and Message encode/decode: the same 4-byte
// package header, now over a byte stream. It behaves like the jsclient where
// that matters: handshake {sys: {type: 'js-tcp', version: '0.0.1'}}, ack,
// a heartbeat sent one interval after each server heartbeat, the server judged
// dead after twice the interval of silence, requests numbered from 1, routes
// compressed with the handshake's dict, bodies in pomelo-protobuf when the
// handshake's protos name the route (the codec of build.js). Dict and protos
// are kept in localStorage-like storage under "dict" and "protos", and their
// versions sent on the next init, as the jsclient does for protos.
'use strict';

const net = require('net');
const hs = require('./harness.js');

function transport(h) {
  const Protocol = hs.npmRequire('pomelo-protocol');
  const { Package, Message } = Protocol;

  let sock = null;
  let conn = 0;
  let reqId = 0;
  const pending = new Map(); // id -> {route, resolve}
  let dict = {};
  let abbrs = {};
  let protos = null; // {server, client, version}
  let protobuf = null; // build.js's pomelo-protobuf, loaded when protos arrive
  let hbInterval = 0;
  let hbTimer = null;
  let hbTimeoutTimer = null;
  let lastIn = 0;
  let noHeartbeat = false;

  const cached = (key) => {
    const v = h.storage.getItem(key);
    if (!v) return null;
    try {
      return JSON.parse(v);
    } catch (e) {
      return null;
    }
  };

  const useProtos = (p) => {
    protos = { server: p.server || {}, client: p.client || {}, version: p.version };
    if (!protobuf) protobuf = hs.loadBrowser({ client: 'build', storage: h.storage, console }).protobuf;
    protobuf.init({ encoderProtos: protos.client, decoderProtos: protos.server });
  };

  const useDict = (d) => {
    dict = d || {};
    abbrs = {};
    for (const r of Object.keys(dict)) abbrs[dict[r]] = r;
  };

  const write = (c, buf) => {
    if (!sock || c !== conn || sock.destroyed) return;
    if (h.trace) {
      const f = { conn: c, type: buf[0], text: buf.toString('hex') };
      if (buf[0] === 4) f.body = hs.describeData(buf.subarray(4));
      h.record('out', f);
    }
    sock.write(buf);
  };

  const stopHeartbeat = () => {
    clearTimeout(hbTimer);
    clearTimeout(hbTimeoutTimer);
    hbTimer = null;
    hbTimeoutTimer = null;
  };

  // onHeartbeat answers the server one interval later, as the jsclient does,
  // then gives the server twice the interval to show any sign of life.
  const onHeartbeat = (c) => {
    if (!hbInterval) return;
    clearTimeout(hbTimeoutTimer);
    hbTimeoutTimer = null;
    if (hbTimer) return;
    hbTimer = setTimeout(() => {
      hbTimer = null;
      h.heartbeat(c, 'out', noHeartbeat);
      if (!noHeartbeat) write(c, Package.encode(Package.TYPE_HEARTBEAT));
      const sent = Date.now();
      hbTimeoutTimer = setTimeout(function check() {
        if (lastIn > sent) return;
        h.record('client-event', { conn: c, route: 'heartbeat timeout' });
        if (sock && c === conn) sock.destroy();
      }, hbInterval * 2);
    }, hbInterval);
  };

  const decodeBody = (route, body) => {
    if (protos && protos.server[route]) return protobuf.decode(route, new Uint8Array(body));
    return JSON.parse(Protocol.strdecode(body));
  };

  const onPackage = (c, pkg, raw, init) => {
    lastIn = Date.now();
    h.stats.packagesIn++;
    if (h.trace) {
      const f = { conn: c, type: pkg.type, text: raw.toString('hex') };
      if (pkg.type === 4 && pkg.body) f.body = hs.describeData(pkg.body);
      h.record('in', f);
    }
    switch (pkg.type) {
      case Package.TYPE_HANDSHAKE: {
        const ans = JSON.parse(Protocol.strdecode(pkg.body));
        h.record('handshake', { conn: c, code: ans.code, sys: hs.handshakeSummary(ans), body: ans });
        if (ans.code !== 200) {
          init.fail('handshake answered code ' + ans.code);
          return;
        }
        const sys = ans.sys || {};
        hbInterval = sys.heartbeat ? sys.heartbeat * 1000 : 0;
        if (sys.dict) {
          useDict(sys.dict);
          h.storage.setItem('dict', JSON.stringify({ dict: sys.dict, version: sys.dictVersion }));
        }
        if (sys.protos) {
          useProtos(sys.protos);
          h.storage.setItem('protos', JSON.stringify(sys.protos));
        }
        write(c, Package.encode(Package.TYPE_HANDSHAKE_ACK));
        init.ok();
        return;
      }
      case Package.TYPE_HEARTBEAT:
        h.heartbeat(c, 'in');
        onHeartbeat(c);
        return;
      case Package.TYPE_DATA: {
        const m = Message.decode(pkg.body);
        if (m.compressGzip) throw new Error('gzip-compressed message bodies are not supported');
        let route = m.route;
        if (m.compressRoute) {
          if (abbrs[route] === undefined) {
            h.record('warning', { conn: c, text: 'route code ' + route + ' not in the dict' });
            return;
          }
          route = abbrs[route];
        }
        if (m.type === Message.TYPE_RESPONSE) {
          const p = pending.get(m.id);
          if (!p) {
            h.record('warning', { conn: c, id: m.id, text: 'response to unknown request id ' + m.id });
            return;
          }
          pending.delete(m.id);
          p.resolve({ id: m.id, body: decodeBody(p.route, m.body) });
          return;
        }
        if (m.type === Message.TYPE_PUSH) {
          h.onPush(c, route, decodeBody(route, m.body));
          return;
        }
        h.record('warning', { conn: c, text: 'unexpected message type ' + m.type });
        return;
      }
      case Package.TYPE_KICK: {
        let body;
        try {
          body = JSON.parse(Protocol.strdecode(pkg.body));
        } catch (e) {
          body = { raw: pkg.body ? pkg.body.toString('hex') : '' };
        }
        h.onKick(c, body && body.reason, body);
        return;
      }
      default:
        h.record('warning', { conn: c, type: pkg.type, text: 'unknown package type ' + pkg.type });
    }
  };

  return {
    describe: () => 'tcp client on npm pomelo-protocol@0.1.6, node ' + process.version,

    async init(p, timeout) {
      if (sock && !sock.destroyed) sock.destroy();
      stopHeartbeat();
      const c = h.newConn();
      conn = c;
      noHeartbeat = !!p.noHeartbeat;
      const sys = { type: 'js-tcp', version: '0.0.1' };
      if (!p.noCache) {
        const d = cached('dict');
        const pr = cached('protos');
        if (d && d.version) {
          sys.dictVersion = d.version;
          useDict(d.dict);
        }
        if (pr && pr.version) {
          sys.protoVersion = pr.version;
          useProtos(pr);
        }
      }
      Object.assign(sys, p.sys || {});
      const hsBody = { sys };
      if (p.user !== undefined) hsBody.user = p.user;

      let done = false;
      let failed = null;
      const init = { ok: () => { done = true; h.poke(); }, fail: (why) => { failed = why; h.poke(); } };
      h.record('connect', { conn: c, text: 'tcp://' + p.host + ':' + p.port });
      const s = net.connect({ host: p.host, port: p.port });
      sock = s;
      s.setNoDelay(true);
      let buf = Buffer.alloc(0);
      s.on('connect', () => {
        h.record('handshake-sent', { conn: c, body: hsBody });
        write(c, Package.encode(Package.TYPE_HANDSHAKE, Protocol.strencode(JSON.stringify(hsBody))));
      });
      s.on('data', (chunk) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        while (buf.length >= 4) {
          const len = (buf[1] << 16) | (buf[2] << 8) | buf[3];
          if (buf.length < 4 + len) break;
          const raw = buf.subarray(0, 4 + len);
          buf = buf.subarray(4 + len);
          try {
            onPackage(c, Package.decode(raw), raw, init);
          } catch (e) {
            h.exception(e);
          }
        }
      });
      s.on('error', (e) => h.record('client-event', { conn: c, route: 'io-error', body: { message: e.message } }));
      s.on('close', () => {
        if (c === conn) stopHeartbeat();
        for (const [id, q] of pending) {
          if (q.conn === c) pending.delete(id);
        }
        h.onClose(c, {});
      });
      await h.wait('init tcp://' + p.host + ':' + p.port, timeout, () => (done ? true : undefined), () => {
        if (failed) return failed;
        if (h.state(c).closed) return 'connection closed before the handshake finished';
        return undefined;
      });
      h.record('init', { conn: c });
    },

    async request(route, msg, timeout) {
      const c = conn;
      reqId++;
      const id = reqId;
      const t0 = hs.now();
      let done;
      pending.set(id, {
        conn: c,
        route,
        resolve: (r) => {
          done = true;
          h.onResponse(c, route, r.id, r.body, t0);
        },
      });
      write(c, Package.encode(Package.TYPE_DATA, encodeMessage(id, Message.TYPE_REQUEST, route, msg)));
      await h.wait('request ' + route + ' (id ' + id + ')', timeout, () => done, h.closedDies(c));
    },

    notify(route, msg) {
      write(conn, Package.encode(Package.TYPE_DATA, encodeMessage(0, Message.TYPE_NOTIFY, route, msg)));
    },

    disconnect() {
      stopHeartbeat();
      if (sock) sock.end();
    },

    sendRaw(bytes) {
      if (!sock) throw new Error('sendRaw: no socket');
      write(conn, bytes);
    },
  };

  function encodeMessage(id, type, route, msg) {
    let body;
    if (protos && protos.client[route]) body = Buffer.from(protobuf.encode(route, msg));
    else body = Protocol.strencode(JSON.stringify(msg));
    if (dict[route] !== undefined) return Message.encode(id, type, 1, dict[route], body);
    return Message.encode(id, type, 0, route, body);
  }
}

hs.main(transport);
