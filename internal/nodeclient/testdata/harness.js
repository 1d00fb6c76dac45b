// Shared half of the harness scripts (wsclient.js, tcpclient.js): it reads the
// scenario from stdin, runs its steps one by one against a transport, and
// prints one JSON event per line on stdout. The transports only connect,
// send and report; every wait, timeout and the exit code live here so both
// clients speak exactly the same scenario language.
//
// Exit codes: 0 every step passed, 1 a step failed or the global timeout hit,
// 2 the harness itself could not start (bad scenario, build.js did not load),
// 3 stdout went away.
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');

// npmDir is the folder Setup filled: node_modules/ and pomelo/build.js.
// NODECLIENT_DIR wins so a script can be run by hand from testdata/.
const npmDir = process.env.NODECLIENT_DIR || path.resolve(__dirname, '..');

function npmRequire(name) {
  return require(path.join(npmDir, 'node_modules', name));
}

const started = process.hrtime.bigint();
function now() {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

// Events the pomelo object emits about itself rather than server pushes: the
// jsclient uses one emitter for both, so a push route with one of these
// names would be indistinguishable from the client's own signal.
const LIFECYCLE = new Set(['close', 'disconnect', 'io-error', 'error',
  'heartbeat timeout', 'onKick', 'reconnect']);

// Storage is localStorage as a browser tab has it: strings only, kept for the
// life of the run (one node process is one tab).
class Storage {
  constructor(init) {
    this.m = new Map();
    for (const k of Object.keys(init || {})) this.m.set(k, String(init[k]));
  }
  getItem(k) { return this.m.has(String(k)) ? this.m.get(String(k)) : null; }
  setItem(k, v) { this.m.set(String(k), String(v)); }
  removeItem(k) { this.m.delete(String(k)); }
  clear() { this.m.clear(); }
  key(i) { return Array.from(this.m.keys())[i] ?? null; }
  get length() { return this.m.size; }
  snapshot() { return Object.fromEntries(this.m); }
}

// summarize turns what the client hands its listeners (DOM-like events,
// errors, plain objects) into something JSON can carry without dragging a
// whole WebSocket object graph along.
function summarize(v) {
  if (v === undefined || v === null || typeof v !== 'object') return v;
  if (v instanceof Error) return { error: v.message };
  if ('target' in v && 'type' in v) {
    const o = { type: v.type };
    for (const k of ['code', 'reason', 'wasClean', 'message']) {
      if (v[k] !== undefined && v[k] !== '') o[k] = v[k];
    }
    return o;
  }
  try {
    return JSON.parse(JSON.stringify(v));
  } catch (e) {
    return String(v);
  }
}

function formatArgs(args) {
  return args.map((a) => {
    if (typeof a === 'string') return a;
    const s = summarize(a);
    return typeof s === 'object' ? JSON.stringify(s) : String(s);
  }).join(' ');
}

function hex(bytes) {
  return Buffer.from(bytes.buffer ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes).toString('hex');
}

// splitPackages walks Pomelo's 4-byte package headers in one chunk of bytes.
// A WebSocket frame should carry exactly one package (build.js decodes only
// the first), so the ws tap uses this to notice frames that carry more.
function splitPackages(u8) {
  const out = [];
  let off = 0;
  while (off + 4 <= u8.length) {
    const len = (u8[off + 1] << 16) | (u8[off + 2] << 8) | u8[off + 3];
    const end = Math.min(off + 4 + len, u8.length);
    out.push({ type: u8[off], body: u8.subarray(off + 4, end), whole: u8.subarray(off, end), short: off + 4 + len > u8.length });
    off = end;
  }
  if (off < u8.length) out.push({ type: -1, body: u8.subarray(off), whole: u8.subarray(off), short: true });
  return out;
}

// describeData names the parts of a data package's message so trace events
// show route compression and the raw id bytes (whose order differs between
// build.js and npm pomelo-protocol).
function describeData(body) {
  const flag = body[0];
  const type = (flag >> 1) & 0x7;
  const d = { msgType: type, compressRoute: flag & 1 };
  let off = 1;
  if (type === 0 || type === 2) {
    const start = off;
    while (off < body.length && body[off] & 0x80) off++;
    off++;
    d.idHex = hex(body.subarray(start, off));
  }
  if (type === 0 || type === 1 || type === 3) {
    if (flag & 1) {
      d.route = String((body[off] << 8) | body[off + 1]);
      off += 2;
    } else {
      const n = body[off];
      d.route = Buffer.from(body.subarray(off + 1, off + 1 + n)).toString('utf8');
      off += 1 + n;
    }
  }
  return d;
}

// handshakeSummary reports what a handshake answer carried, the facts tests
// assert on (dict and protos present or left out, heartbeat interval).
function handshakeSummary(ans) {
  const sys = (ans && ans.sys) || {};
  const s = {
    heartbeat: sys.heartbeat || 0,
    dict: sys.dict !== undefined,
    routeToCode: sys.routeToCode !== undefined,
    codeToRoute: sys.codeToRoute !== undefined,
    protos: sys.protos !== undefined,
    useDict: !!sys.useDict,
    useProto: !!sys.useProto,
  };
  if (sys.dictVersion !== undefined) s.dictVersion = String(sys.dictVersion);
  const pv = sys.protos && sys.protos.version !== undefined ? sys.protos.version : sys.protoVersion;
  if (pv !== undefined) s.protoVersion = String(pv);
  return s;
}

// loadBrowser evaluates pomelo@2.2.7's build.js in a fresh context that
// looks like a browser window: only what a page has (window, WebSocket,
// localStorage, timers, console, navigator), nothing of Node's.
function loadBrowser(opts) {
  const win = {
    WebSocket: opts.WebSocket,
    localStorage: opts.storage,
    sessionStorage: new Storage(),
    setTimeout, clearTimeout, setInterval, clearInterval,
    console: opts.console,
    navigator: { userAgent: 'Mozilla/5.0 (pomeloctl nodeclient harness)' },
    location: { protocol: 'http:', hostname: '127.0.0.1', href: 'http://127.0.0.1/' },
    document: {},
    // build.js's copy of pomelo-protocol picks its byte array with
    // "'object' === typeof module ? Buffer : Uint8Array"; under the component
    // loader module is always an object, so in a real browser that line throws
    // "Buffer is not defined" (NetEase/pomelo#391). Naming Uint8Array Buffer
    // lets it take the typed-array path a browser would take once fixed
    // (pomelo-protocol#7); nothing else in build.js mentions Buffer.
    Buffer: Uint8Array,
  };
  win.window = win;
  win.self = win;
  const ctx = vm.createContext(win);
  const buildPath = path.join(npmDir, 'pomelo', 'build.js');
  vm.runInContext(fs.readFileSync(buildPath, 'utf8'), ctx, { filename: buildPath });
  // index.html does the same right after loading build.js.
  vm.runInContext("require('boot')", ctx);
  if (opts.client === 'jsclient') {
    // npm pomelo-jsclient-websocket@0.1.1 is a component script (its
    // component.json lists it), so wrap it the way component's build would
    // and let it replace window.pomelo. It calls protobuf.decodeStr, which
    // this browser pomelo-protobuf only has as decode (same bytes in).
    const jsPath = path.join(npmDir, 'node_modules', 'pomelo-jsclient-websocket', 'lib', 'pomelo-client.js');
    const src = fs.readFileSync(jsPath, 'utf8');
    vm.runInContext('require.register("pomelo-jsclient-websocket-npm/index.js", function(exports, require, module){' +
      src + '\n});', ctx, { filename: jsPath });
    if (!win.protobuf.decodeStr) win.protobuf.decodeStr = win.protobuf.decode;
    vm.runInContext('require("pomelo-jsclient-websocket-npm/index.js")', ctx);
  }
  return win;
}

// Harness is one run: the event stream, the scenario and the state waits
// look at. Transports call record/onPush/onKick/onClose/heartbeat.
class Harness {
  constructor(scenario) {
    this.scenario = scenario;
    this.step = -1;
    this.conn = 0;
    this.trace = !!scenario.trace;
    this.storage = new Storage(scenario.storage);
    this.stats = {
      heartbeatsIn: 0, heartbeatsOut: 0, heartbeatsDropped: 0,
      framesIn: 0, packagesIn: 0, batchedFrames: 0,
      pushes: 0, responses: 0, kicks: 0,
    };
    this.pushes = new Map(); // route -> bodies not yet taken by waitPush
    this.kicks = []; // kicks not yet taken by waitKick
    this.connState = new Map(); // conn -> {closed, hbIn, hbOut}
    this.lastResponse = null;
    this.waiters = new Set();
    this.finished = false;
  }

  record(kind, fields) {
    const ev = Object.assign({ kind, at: Math.round(now() * 1000) / 1000, step: this.step }, fields || {});
    if (ev.conn === undefined && this.conn) ev.conn = this.conn;
    let line;
    try {
      line = JSON.stringify(ev);
    } catch (e) {
      line = JSON.stringify({ kind, at: ev.at, step: ev.step, error: 'unserialisable event: ' + e.message });
    }
    process.stdout.write(line + '\n');
    this.poke();
    return ev;
  }

  newConn() {
    this.conn++;
    this.connState.set(this.conn, { closed: false, hbIn: 0, hbOut: 0, kicked: false });
    return this.conn;
  }

  state(conn) {
    return this.connState.get(conn || this.conn) || { closed: true, hbIn: 0, hbOut: 0 };
  }

  onPush(conn, route, body) {
    this.stats.pushes++;
    route = String(route);
    if (!this.pushes.has(route)) this.pushes.set(route, []);
    this.pushes.get(route).push(body);
    this.record('push', { conn, route, body });
  }

  // onResponse records a response when the client hands it over, so the
  // event stream keeps the order things arrived in.
  onResponse(conn, route, id, body, t0) {
    this.stats.responses++;
    this.lastResponse = body;
    this.record('response', { conn, route, id, body, ms: Math.round((now() - t0) * 1000) / 1000 });
  }

  onKick(conn, reason, body) {
    this.stats.kicks++;
    this.state(conn).kicked = true;
    this.kicks.push({ conn, reason });
    const f = { conn, reason };
    if (body !== undefined) f.body = body;
    this.record('kick', f);
  }

  onClose(conn, fields) {
    const st = this.state(conn);
    if (st.closed) return;
    st.closed = true;
    this.record('close', Object.assign({ conn }, fields));
  }

  heartbeat(conn, dir, dropped) {
    const st = this.state(conn);
    if (dir === 'in') {
      st.hbIn++;
      this.stats.heartbeatsIn++;
      this.record('heartbeat-in', { conn });
    } else if (dropped) {
      this.stats.heartbeatsDropped++;
      this.record('heartbeat-out', { conn, reason: 'dropped by noHeartbeat' });
    } else {
      st.hbOut++;
      this.stats.heartbeatsOut++;
      this.record('heartbeat-out', { conn });
    }
  }

  // exception is a throw from the client code or a transport callback. A
  // browser would log it and carry on; the harness also fails the step that
  // is waiting, so a test learns at once instead of at its timeout.
  exception(err) {
    this.record('exception', { error: err && err.stack ? err.stack : String(err) });
    for (const w of Array.from(this.waiters)) w.fail(new Error('exception in client: ' + (err && err.message ? err.message : err)));
  }

  // wait resolves when check() returns something other than undefined, checked
  // now and after every event; it fails after timeoutMs, or when the
  // connection it depends on closes (dies() returns a reason).
  wait(desc, timeoutMs, check, dies) {
    return new Promise((resolve, reject) => {
      const w = {
        desc, check, dies,
        done: false,
        timer: null,
        fail: (err) => { if (!w.done) { w.done = true; clearTimeout(w.timer); this.waiters.delete(w); reject(err); } },
        ok: (v) => { if (!w.done) { w.done = true; clearTimeout(w.timer); this.waiters.delete(w); resolve(v); } },
      };
      w.timer = setTimeout(() => w.fail(new Error(desc + ': no answer within ' + timeoutMs + ' ms')), timeoutMs);
      this.waiters.add(w);
      this.pokeOne(w);
    });
  }

  pokeOne(w) {
    let v;
    try {
      v = w.check();
    } catch (e) {
      w.fail(e);
      return;
    }
    if (v !== undefined) {
      w.ok(v);
      return;
    }
    const why = w.dies && w.dies();
    if (why) w.fail(new Error(w.desc + ': ' + why));
  }

  poke() {
    for (const w of Array.from(this.waiters)) this.pokeOne(w);
  }

  // closedDies makes a wait fail once the current connection has closed:
  // nothing more can arrive on it.
  closedDies(conn) {
    return () => (this.state(conn).closed ? 'connection ' + conn + ' closed first' : undefined);
  }

  async runStep(t, s) {
    const timeout = s.timeoutMs || 5000;
    switch (s.op) {
      case 'init': {
        const p = Object.assign({}, s);
        if (s.useLastResponse) {
          // chatofpomelo's gate answer: {code, host, port} of the connector.
          const b = this.lastResponse || {};
          if (!b.host || !b.port) throw new Error('useLastResponse: last response has no host/port: ' + JSON.stringify(b));
          p.host = b.host;
          p.port = b.port;
        }
        if (!p.host) p.host = '127.0.0.1';
        if (!p.port) throw new Error('init: port missing');
        await t.init(p, timeout);
        return;
      }
      case 'request':
        if (!s.route) throw new Error('request: route missing');
        await t.request(s.route, s.msg === undefined ? {} : s.msg, timeout);
        return;
      case 'notify':
        if (!s.route) throw new Error('notify: route missing');
        t.notify(s.route, s.msg === undefined ? {} : s.msg);
        this.record('notify', { route: s.route });
        return;
      case 'waitPush': {
        if (!s.route) throw new Error('waitPush: route missing');
        const conn = this.conn;
        await this.wait('waitPush ' + s.route, timeout, () => {
          const q = this.pushes.get(s.route);
          return q && q.length ? q.shift() : undefined;
        }, this.closedDies(conn));
        return;
      }
      case 'waitKick': {
        const conn = this.conn;
        await this.wait('waitKick', timeout, () => (this.kicks.length ? this.kicks.shift() : undefined),
          () => (this.state(conn).closed && !this.kicks.length ? 'connection ' + conn + ' closed without a kick' : undefined));
        return;
      }
      case 'waitDisconnect': {
        const conn = this.conn;
        await this.wait('waitDisconnect', timeout, () => (this.state(conn).closed ? true : undefined));
        return;
      }
      case 'waitHeartbeats': {
        const conn = this.conn;
        const wantIn = s.in || 0;
        const wantOut = s.out || 0;
        await this.wait('waitHeartbeats in>=' + wantIn + ' out>=' + wantOut, timeout, () => {
          const st = this.state(conn);
          return st.hbIn >= wantIn && st.hbOut >= wantOut ? true : undefined;
        }, this.closedDies(conn));
        return;
      }
      case 'waitSignal': {
        const name = s.name || '';
        await this.wait('waitSignal ' + name, s.timeoutMs || 30000, () => {
          const i = this.signals.indexOf(name);
          if (i < 0) return undefined;
          this.signals.splice(i, 1);
          return true;
        });
        return;
      }
      case 'sleep':
        await new Promise((r) => setTimeout(r, s.ms || 0));
        return;
      case 'disconnect':
        t.disconnect();
        this.record('disconnect', {});
        return;
      case 'sendRaw':
        t.sendRaw(Buffer.from(s.hex || '', 'hex'));
        return;
      case 'clearStorage':
        this.storage.clear();
        return;
      default:
        throw new Error('unknown op ' + JSON.stringify(s.op));
    }
  }

  async run(t) {
    const steps = this.scenario.steps || [];
    for (let i = 0; i < steps.length && !this.finished; i++) {
      this.step = i;
      const s = steps[i];
      try {
        await this.runStep(t, s);
      } catch (e) {
        this.record('error', { route: s.route, error: 'step ' + i + ' (' + s.op + '): ' + e.message });
        if (!s.mayFail) {
          this.finish(1);
          return;
        }
      }
    }
    this.finish(0);
  }

  finish(code) {
    if (this.finished) return;
    this.finished = true;
    this.step = -1;
    this.record('end', { code, stats: this.stats, storage: this.storage.snapshot() });
    // Pipes are written synchronously on Linux, but wait for the flush anyway
    // so no event is lost on other systems; exit at once so open sockets and
    // timers of the client cannot keep the process alive.
    process.stdout.write('', () => process.exit(code));
  }
}

// main reads the scenario (first line of stdin; later lines are signals),
// builds the transport and runs.
function main(makeTransport) {
  let buf = '';
  let h = null;
  const signals = [];
  const onLine = (line) => {
    if (!line.trim()) return;
    if (!h) {
      let scn;
      try {
        scn = JSON.parse(line);
      } catch (e) {
        process.stderr.write('bad scenario JSON: ' + e.message + '\n');
        process.exit(2);
      }
      start(scn);
      return;
    }
    try {
      const m = JSON.parse(line);
      if (m && typeof m.signal === 'string') {
        h.signals.push(m.signal);
        h.record('signal', { reason: m.signal });
      }
    } catch (e) {
      h.record('error', { error: 'bad signal line: ' + line });
    }
  };
  const start = (scn) => {
    h = new Harness(scn || {});
    h.signals = signals;
    process.on('uncaughtException', (e) => h.exception(e));
    process.on('unhandledRejection', (e) => h.exception(e));
    const total = scn.timeoutMs || 10000;
    setTimeout(() => {
      h.record('error', { error: 'global timeout: scenario still running after ' + total + ' ms' });
      h.finish(1);
    }, total);
    let t;
    try {
      t = makeTransport(h);
    } catch (e) {
      process.stderr.write('harness: ' + (e.stack || e) + '\n');
      process.exit(2);
    }
    h.record('start', { text: t.describe() });
    h.run(t);
  };
  // Nobody reads the events any more (the test went away): stop at once
  // rather than fail every write until the global timeout.
  process.stdout.on('error', () => process.exit(3));
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      onLine(line);
    }
  });
  process.stdin.on('end', () => {
    if (buf) onLine(buf);
    buf = '';
    if (!h) {
      process.stderr.write('no scenario on stdin\n');
      process.exit(2);
    }
  });
}

module.exports = {
  npmRequire, now, LIFECYCLE, Storage, summarize, formatArgs, hex, splitPackages,
  describeData, handshakeSummary, loadBrowser, Harness, main,
};
