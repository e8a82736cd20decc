// The OpenHumanoid dashboard: loads /api/robot, opens the /ws state stream (docs/api.md), and wires the 3D view,
// plots, joint table and controls. Nothing is fetched from outside the serving host.
import './style.css';
import { Scene } from './scene.js';
import { Plots } from './plots.js';
import { JointTable } from './joints.js';

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get('token') || '';
const app = { robot: null, state: null, states: 0, ws: null, authorized: false, limits: { vx: 0.5, vy: 0.2, wz: 0.5 } };
window.__oh = app;  // for the end-to-end test and the console

function message(text, error = false) {
  const el = $('message');
  el.textContent = text;
  el.classList.toggle('error', error);
}

// --- commands -----------------------------------------------------------------------------------------------
let nextId = 1;
function send(cmd) {
  if (!app.ws || app.ws.readyState !== WebSocket.OPEN) return message('not connected', true);
  app.ws.send(JSON.stringify({ ...cmd, id: nextId++ }));
}

// Keyboard and pad: keys give half the limit (Shift: the full limit); the pad gives up to the limit.
const keys = new Set();
const pad = { x: 0, y: 0 };
let yawSlider = 0;
let lastSent = null;
function desired() {
  const s = keys.has('shift') ? 1.0 : 0.5, L = app.limits;
  let vx = ((keys.has('w') ? 1 : 0) - (keys.has('s') ? 1 : 0)) * s * L.vx;
  let vy = ((keys.has('a') ? 1 : 0) - (keys.has('d') ? 1 : 0)) * s * L.vy;
  let wz = ((keys.has('q') ? 1 : 0) - (keys.has('e') ? 1 : 0)) * s * L.wz;
  if (pad.x || pad.y) { vx = pad.y * L.vx; vy = -pad.x * L.vy; }
  if (!keys.has('q') && !keys.has('e')) wz = yawSlider * L.wz;
  return [vx, vy, wz].map((v) => Math.round(v * 1000) / 1000);
}
function sendVelocity() {
  const v = desired();
  if (lastSent && v.every((x, i) => x === lastSent[i])) return;
  lastSent = v;
  send({ op: 'velocity', vx: v[0], vy: v[1], wz: v[2] });
}
const KEYS = new Set(['w', 'a', 's', 'd', 'q', 'e']);
function keyUi() {
  document.querySelectorAll('.kbd').forEach((k) => k.classList.toggle('down', keys.has(k.dataset.key)));
}
window.addEventListener('keydown', (ev) => {
  if (ev.target instanceof HTMLInputElement && ev.target.type !== 'checkbox' && ev.target.type !== 'range') return;
  const k = ev.key.toLowerCase();
  if (k === ' ') { ev.preventDefault(); send({ op: 'estop' }); return; }
  if (k === 'shift') { keys.add('shift'); if ([...keys].some((x) => KEYS.has(x))) sendVelocity(); return; }
  if (!KEYS.has(k) || ev.repeat) return;
  keys.add(k);
  keyUi();
  sendVelocity();
});
window.addEventListener('keyup', (ev) => {
  const k = ev.key.toLowerCase();
  if (!keys.delete(k)) return;
  keyUi();
  if (KEYS.has(k) || k === 'shift') sendVelocity();
});
window.addEventListener('blur', () => { keys.clear(); pad.x = pad.y = 0; keyUi(); sendVelocity(); });

function setupPad() {
  const el = $('pad'), dot = $('pad-dot');
  let dragging = false;
  const place = () => {
    const r = el.clientWidth / 2 - 11;
    dot.style.left = `${el.clientWidth / 2 - 11 + pad.x * r}px`;
    dot.style.top = `${el.clientHeight / 2 - 11 - pad.y * r}px`;
  };
  const move = (ev) => {
    const b = el.getBoundingClientRect();
    let x = (ev.clientX - b.left) / (b.width / 2) - 1, y = 1 - (ev.clientY - b.top) / (b.height / 2);
    const n = Math.hypot(x, y);
    if (n > 1) { x /= n; y /= n; }
    pad.x = Math.abs(x) < 0.08 ? 0 : x;
    pad.y = Math.abs(y) < 0.08 ? 0 : y;
    place();
    sendVelocity();
  };
  el.addEventListener('pointerdown', (ev) => { dragging = true; el.setPointerCapture(ev.pointerId); move(ev); });
  el.addEventListener('pointermove', (ev) => { if (dragging) move(ev); });
  const release = () => { if (!dragging) return; dragging = false; pad.x = pad.y = 0; place(); sendVelocity(); };
  el.addEventListener('pointerup', release);
  el.addEventListener('pointercancel', release);
  place();
  $('yaw').addEventListener('input', (ev) => { yawSlider = Number(ev.target.value); sendVelocity(); });
  $('yaw').addEventListener('dblclick', (ev) => { ev.target.value = 0; yawSlider = 0; sendVelocity(); });
}

function setupButtons() {
  $('estop').addEventListener('click', () => send({ op: 'estop' }));
  $('btn-stand').addEventListener('click', () => { lastSent = [0, 0, 0]; send({ op: 'task', task: 'stand' }); });
  $('btn-walk').addEventListener('click', () => send({ op: 'task', task: 'walk' }));
  $('btn-push').addEventListener('click', () => send({ op: 'push', dv: 0.3 }));
  $('btn-reset').addEventListener('click', () => { lastSent = null; send({ op: 'reset' }); });
}

function setControlsEnabled(on) {
  for (const id of ['estop', 'btn-stand', 'btn-walk', 'btn-push', 'btn-reset', 'yaw']) $(id).disabled = !on;
}

// --- stream ---------------------------------------------------------------------------------------------------
let scene = null, plots = null, joints = null;
let lastTable = 0;
function onState(s) {
  app.state = s;
  app.states += 1;
  scene.update(s);
  plots.push(s);
  const mode = $('mode');
  mode.textContent = s.mode.toUpperCase();
  mode.className = `mode mode-${s.mode}`;
  $('estop').classList.toggle('latched', s.mode === 'estopped');
  $('estop').textContent = s.mode === 'estopped' ? 'E-STOPPED (reset)' : 'E-STOP';
  $('btn-stand').classList.toggle('active', s.task === 'stand');
  $('btn-walk').classList.toggle('active', s.task === 'walk');
  $('stat-t').textContent = s.t.toFixed(2);
  $('stat-rtf').textContent = s.timing.real_time_factor ? s.timing.real_time_factor.toFixed(2) : '—';
  $('stat-tick').textContent = s.timing.tick_p50_us.toFixed(0);
  $('stat-steps').textContent = s.steps_taken;
  const v = s.base.heading_vel, c = s.command.applied;
  $('ro-vx').textContent = v[0].toFixed(2); $('ro-cvx').textContent = c[0].toFixed(2);
  $('ro-vy').textContent = v[1].toFixed(2); $('ro-cvy').textContent = c[1].toFixed(2);
  $('ro-wz').textContent = v[2].toFixed(2); $('ro-cwz').textContent = c[2].toFixed(2);
  $('ro-h').textContent = s.base.height.toFixed(3);
  $('ro-tilt').textContent = (s.base.tilt * 180 / Math.PI).toFixed(1);
  const now = performance.now();
  if (now - lastTable > 100) { lastTable = now; joints.update(s); }
}

function connect() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  const ws = new WebSocket(url);
  app.ws = ws;
  const conn = $('conn');
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (m.type === 'state') onState(m);
    else if (m.type === 'hello') {
      app.authorized = m.authorized;
      app.limits = m.command_limits;
      $('limits').textContent = `limits vx ±${m.command_limits.vx.toFixed(2)} · vy ±${m.command_limits.vy.toFixed(2)} · ` +
        `ωz ±${m.command_limits.wz.toFixed(2)}`;
      conn.textContent = m.authorized ? 'live' : 'read-only';
      conn.className = `conn ${m.authorized ? 'conn-on' : 'conn-ro'}`;
      setControlsEnabled(m.authorized);
      if (!m.authorized) message('Read-only: open the URL with ?token=… to command the robot.', true);
    } else if (m.type === 'error') message(`${m.op ? `${m.op}: ` : ''}${m.error}`, true);
    else if (m.type === 'reply') message(m.op === 'velocity'
      ? `command vx ${m.command[0].toFixed(2)} vy ${m.command[1].toFixed(2)} ωz ${m.command[2].toFixed(2)}${m.clamped ? ' (clamped)' : ''}`
      : `${m.op}: ok`);
  };
  ws.onclose = () => {
    conn.textContent = 'offline';
    conn.className = 'conn conn-off';
    setControlsEnabled(false);
    setTimeout(connect, 1000);
  };
}

function setupView() {
  const orbit = $('cam-orbit'), follow = $('cam-follow');
  const set = (f) => { scene.setFollow(f); orbit.classList.toggle('on', !f); follow.classList.toggle('on', f); };
  orbit.addEventListener('click', () => set(false));
  follow.addEventListener('click', () => set(true));
  $('ov-collision').addEventListener('change', (ev) => scene.setCollisionVisible(ev.target.checked));
  for (const k of ['contacts', 'com', 'support', 'cmd'])
    $(`ov-${k}`).addEventListener('change', (ev) => { scene.show[k] = ev.target.checked; if (app.state) scene.update(app.state); });
}

async function main() {
  setControlsEnabled(false);
  const robot = await (await fetch('api/robot')).json();
  app.robot = robot;
  $('robot-name').textContent = `${robot.name} · ${robot.joints.length} joints · ${robot.mass_kg.toFixed(1)} kg`;
  scene = new Scene($('view'), robot);
  app.scene = scene;
  plots = new Plots();
  joints = new JointTable($('joints'), robot.joints);
  setupView();
  setupPad();
  setupButtons();
  connect();
  const loop = () => { scene.render(); requestAnimationFrame(loop); };
  loop();
}

main().catch((e) => message(`failed to start: ${e.message}`, true));
