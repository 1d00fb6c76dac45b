// wsclient.js: one browser tab running NetEase's own Pomelo web client.
//
// It loads pomelo@2.2.7's template build.js (component loader, pomelo-protocol,
// pomelo-protobuf, pomelo-jsclient-websocket) into a window-like context and
// drives window.pomelo as chatofpomelo's page does: pomelo.init({host, port,
// log: true}, cb), pomelo.request(route, msg, cb), pomelo.notify(route, msg),
// listeners for pushes, onKick, close/disconnect, pomelo.disconnect().
//
// With scenario.client "jsclient" the bundled jsclient is replaced by npm
// pomelo-jsclient-websocket@0.1.1, the later one that keeps protos in
// localStorage, sends protoVersion and can reconnect.
//
// The client never shows its sockets, so the harness watches them from
// underneath: the WebSocket handed to the page is the ws package's, with a
// listener that sees each frame before the client does (handshake answer,
// heartbeats, kick reasons, frames that carry more than one package) and a
// send that sees what the client writes (its handshake, its heartbeats).
'use strict';

const util = require('util');
const hs = require('./harness.js');

function transport(h) {
  const WS = hs.npmRequire('ws');
  const client = h.scenario.client || 'build';
  if (client !== 'build' && client !== 'jsclient') throw new Error('unknown client ' + JSON.stringify(client));

  const t = {
    socket: null,
    inConn: 0,
    noHeartbeat: false,
    kickBody: new Map(), // conn -> kick body seen on the wire
    requests: 0,
  };

  const tapIn = (conn, data) => {
    t.inConn = conn;
    if (typeof data === 'string') {
      h.record('warning', { conn, text: 'text frame (the client expects binary): ' + data.slice(0, 200) });
      return;
    }
    const u8 = new Uint8Array(data);
    h.stats.framesIn++;
    const pkgs = hs.splitPackages(u8);
    h.stats.packagesIn += pkgs.length;
    if (pkgs.length > 1) {
      h.stats.batchedFrames++;
      h.record('warning', {
        conn,
        text: 'frame carries ' + pkgs.length + ' packages (types ' + pkgs.map((p) => p.type).join(',') +
          '); the client decodes only the first',
      });
    }
    pkgs.forEach((p, i) => {
      if (h.trace) {
        const f = { conn, type: p.type, text: hs.hex(p.whole) };
        if (p.type === 4) Object.assign(f, { body: hs.describeData(p.body) });
        if (i > 0) f.reason = 'lost: not the first package of its frame';
        h.record('in', f);
      }
      if (i > 0 || p.short) return;
      switch (p.type) {
        case 1: {
          let ans = null;
          try {
            ans = JSON.parse(Buffer.from(p.body).toString('utf8'));
          } catch (e) {
            h.record('warning', { conn, text: 'handshake answer is not JSON: ' + e.message });
            return;
          }
          h.record('handshake', { conn, code: ans.code, sys: hs.handshakeSummary(ans), body: ans });
          return;
        }
        case 3:
          h.heartbeat(conn, 'in');
          return;
        case 5:
          try {
            t.kickBody.set(conn, JSON.parse(Buffer.from(p.body).toString('utf8')));
          } catch (e) {
            t.kickBody.set(conn, { raw: hs.hex(p.body) });
          }
          return;
        default:
      }
    });
  };

  const tapOut = (conn, data) => {
    let u8 = null;
    if (util.types.isAnyArrayBuffer(data)) u8 = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) u8 = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (!u8) return true;
    let send = true;
    for (const p of hs.splitPackages(u8)) {
      if (h.trace) {
        const f = { conn, type: p.type, text: hs.hex(p.whole) };
        if (p.type === 4) Object.assign(f, { body: hs.describeData(p.body) });
        h.record('out', f);
      }
      if (p.type === 1) {
        let body;
        try {
          body = JSON.parse(Buffer.from(p.body).toString('utf8'));
        } catch (e) {
          body = { raw: hs.hex(p.body) };
        }
        h.record('handshake-sent', { conn, body });
      } else if (p.type === 3) {
        if (t.noHeartbeat) send = false;
        h.heartbeat(conn, 'out', t.noHeartbeat);
      }
    }
    return send;
  };

  // TappedWebSocket is what the page sees as window.WebSocket. Returning the
  // ws instance from the constructor keeps every property and setter the
  // client uses (binaryType, onopen, onmessage, onerror, onclose, close).
  function TappedWebSocket(url, protocols) {
    const conn = h.newConn();
    h.record('connect', { conn, text: String(url) });
    const ws = protocols === undefined ? new WS(url) : new WS(url, protocols);
    ws.addEventListener('message', (ev) => tapIn(conn, ev.data));
    ws.addEventListener('close', (ev) => h.onClose(conn, { code: ev.code, reason: ev.reason || undefined }));
    const send = ws.send.bind(ws);
    ws.send = (data, ...rest) => {
      if (tapOut(conn, data)) send(data, ...rest);
    };
    t.socket = ws;
    return ws;
  }

  const consoleShim = {};
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    consoleShim[level] = (...args) => h.record('log', { reason: level, text: hs.formatArgs(args) });
  }

  const win = hs.loadBrowser({ client, WebSocket: TappedWebSocket, storage: h.storage, console: consoleShim });
  const pomelo = win.pomelo;
  if (!pomelo || typeof pomelo.init !== 'function') throw new Error('window.pomelo missing after require("boot")');

  let initError = null;
  // Every emit goes through here: the client's own signals are recorded as
  // client-event, everything else is a server push, exactly what a listener
  // registered with pomelo.on(route, cb) would receive.
  const emit = pomelo.emit;
  pomelo.emit = function (name, ...args) {
    if (hs.LIFECYCLE.has(name)) {
      // State first: recording wakes the waits, which look at initError.
      if (name === 'error') initError = String(args[0]);
      const f = { route: name };
      if (args.length) f.body = hs.summarize(args[0]);
      h.record('client-event', f);
      if (name === 'onKick') {
        const wire = t.kickBody.get(t.inConn);
        const data = args[0] && typeof args[0] === 'object' ? args[0] : wire;
        h.onKick(t.inConn, data && data.reason, data);
      }
    } else {
      h.onPush(t.inConn, name, hs.summarize(args[0]));
    }
    return emit.apply(this, [name, ...args]);
  };

  return {
    describe: () => (client === 'build' ? 'pomelo@2.2.7 build.js' : 'pomelo-jsclient-websocket@0.1.1 on build.js') + ', node ' + process.version,

    async init(p, timeout) {
      const params = { host: p.host, port: p.port, log: true };
      if (p.user !== undefined) params.user = p.user;
      if (p.reconnect) params.reconnect = true;
      if (p.maxReconnectAttempts) params.maxReconnectAttempts = p.maxReconnectAttempts;
      t.noHeartbeat = !!p.noHeartbeat;
      initError = null;
      let done = false;
      pomelo.init(params, () => { done = true; h.poke(); });
      const conn = h.conn;
      await h.wait('init ws://' + p.host + ':' + p.port, timeout, () => (done ? true : undefined), () => {
        if (initError) return 'client reported: ' + initError;
        if (h.state(conn).closed) return 'connection closed before the handshake finished';
        return undefined;
      });
      h.record('init', { conn });
    },

    async request(route, msg, timeout) {
      const conn = h.conn;
      // The client numbers requests from 1 for the life of the page.
      const id = ++t.requests;
      const t0 = hs.now();
      let done;
      pomelo.request(route, msg, (body) => {
        done = true;
        h.onResponse(conn, route, id, hs.summarize(body), t0);
      });
      await h.wait('request ' + route + ' (id ' + id + ')', timeout, () => done, h.closedDies(conn));
    },

    notify(route, msg) {
      pomelo.notify(route, msg);
    },

    disconnect() {
      pomelo.disconnect();
    },

    sendRaw(bytes) {
      if (!t.socket) throw new Error('sendRaw: no socket');
      t.socket.send(bytes);
    },
  };
}

hs.main(transport);
