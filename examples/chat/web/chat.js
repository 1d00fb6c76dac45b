// The chat page: chatofpomelo's web client flow. The gate names a
// connector for the player (gate.gateHandler.queryEntry), the page leaves
// the gate for it and enters the room (connector.entryHandler.enter), then
// sends with chat.chatHandler.send and shows the room's pushes: onChat,
// onAdd, onLeave.

import { PomeloClient } from './pomelo.js';

const $ = (id) => document.getElementById(id);

// gateAddr is ?gate=host:port, or else the gate of the topology that
// serves this page: portOffset shifts every port alike, so the gate is as
// far from 3014 as this page is from 3001.
function gateAddr() {
  const asked = new URLSearchParams(location.search).get('gate');
  if (asked) {
    const i = asked.lastIndexOf(':');
    return { host: asked.slice(0, i), port: Number(asked.slice(i + 1)) };
  }
  const offset = location.port ? Number(location.port) - 3001 : 0;
  return { host: location.hostname, port: 3014 + offset };
}

let client = null;
let me = '';
let room = '';

function line(cls, ...parts) {
  const li = document.createElement('li');
  li.className = cls;
  for (const p of parts) {
    if (typeof p === 'string') li.append(p);
    else {
      const el = document.createElement(p.tag);
      el.textContent = p.text;
      if (p.cls) el.className = p.cls;
      li.append(el);
    }
  }
  const list = $('messages');
  list.append(li);
  list.scrollTop = list.scrollHeight;
}

function setUsers(users) {
  const list = $('users');
  const target = $('target');
  const chosen = target.value;
  list.replaceChildren();
  target.replaceChildren(new Option('everyone', '*'));
  for (const u of [...users].sort()) {
    const li = document.createElement('li');
    li.textContent = u;
    if (u === me) li.className = 'me';
    list.append(li);
    if (u !== me) target.append(new Option(u, u));
  }
  target.value = users.includes(chosen) ? chosen : '*';
  $('count').textContent = String(users.length);
}

function users() {
  return [...$('users').children].map((li) => li.textContent);
}

function status(text, bad = false) {
  $('status').textContent = text;
  $('status').classList.toggle('bad', bad);
}

async function enter(name, rid) {
  const { host, port } = gateAddr();
  status(`asking the gate at ${host}:${port}…`);
  const gate = new PomeloClient();
  await gate.connect(host, port);
  let entry;
  try {
    entry = await gate.request('gate.gateHandler.queryEntry', { uid: name });
  } finally {
    gate.disconnect();
  }
  if (entry.code !== 200) throw new Error(`the gate found no connector (code ${entry.code})`);

  status(`connecting to ${entry.host}:${entry.port}…`);
  const c = new PomeloClient();
  c.on('onChat', (m) => {
    const whisper = m.target !== '*';
    const to = whisper ? ' → you' : '';
    line(whisper ? 'msg whisper' : 'msg', { tag: 'b', text: m.from + to }, { tag: 'span', text: m.msg });
  });
  c.on('onAdd', (m) => {
    setUsers([...users(), m.user]);
    line('sys', `${m.user} joined`);
  });
  c.on('onLeave', (m) => {
    setUsers(users().filter((u) => u !== m.user));
    line('sys', `${m.user} left`);
  });
  c.onclose = (reason) => {
    status(`disconnected: ${reason}`, true);
    $('say').querySelector('fieldset').disabled = true;
  };
  await c.connect(entry.host, entry.port);
  const res = await c.request('connector.entryHandler.enter', { username: name, rid });
  if (res.error) {
    c.disconnect();
    throw new Error(`${name} is already in room ${rid}: choose another name`);
  }
  client = c;
  me = name;
  room = rid;
  $('login').hidden = true;
  $('chat').hidden = false;
  $('room').textContent = rid;
  setUsers(res.users);
  line('sys', `you are in room ${rid} as ${name}`);
  status(`connected to ${entry.host}:${entry.port}`);
  $('text').focus();
}

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = $('name').value.trim();
  const rid = $('rid').value.trim();
  if (!name || !rid) return;
  const fields = $('login').querySelector('fieldset');
  fields.disabled = true;
  $('login-error').textContent = '';
  try {
    await enter(name, rid);
  } catch (err) {
    $('login-error').textContent = err.message;
    status('not connected', true);
  } finally {
    fields.disabled = false;
  }
});

$('say').addEventListener('submit', async (event) => {
  event.preventDefault();
  const content = $('text').value.trim();
  if (!content || !client) return;
  $('text').value = '';
  const target = $('target').value;
  try {
    await client.request('chat.chatHandler.send', { rid: room, content, from: me, target });
    // A message to everyone comes back to its sender too; one to a
    // player goes to that player alone.
    if (target !== '*') line('msg whisper', { tag: 'b', text: `${me} → ${target}` }, { tag: 'span', text: content });
  } catch (err) {
    line('sys bad', `not sent: ${err.message}`);
  }
});
