// Browser end-to-end test of the dashboard: `humanoid run --serve` on a free loopback port, Debian's chromium
// headless driven by playwright-core. Checks: the page loads and streams, the canvas shows the robot (pixels that
// change when the robot is hidden), holding W makes the robot walk forward (measured vx rises), the e-stop button
// latches damping. Saves screenshots to $OH_ARTIFACTS (default build/test-artifacts).
// Env: HUMANOID_EXE (required), OH_WEB_DIR (the built app), CHROMIUM (default /usr/bin/chromium).
// Exit codes: 0 pass, 1 fail, 77 skipped (chromium, node_modules, the built app or the binary missing).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '..');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
const exe = process.env.HUMANOID_EXE;
const artifacts = process.env.OH_ARTIFACTS || path.resolve(webDir, '..', 'build', 'test-artifacts');
const webRoot = process.env.OH_WEB_DIR || path.join(webDir, 'dist');

function skip(why) {
  console.log(`SKIP: ${why}`);
  process.exit(77);
}
if (!fs.existsSync(chromium)) skip(`${chromium} not found (apt-get install -y chromium)`);
if (!fs.existsSync(path.join(webDir, 'node_modules', 'playwright-core'))) skip('web/node_modules missing (npm ci in web/)');
if (!exe || !fs.existsSync(exe)) skip('HUMANOID_EXE not set or missing');
if (!fs.existsSync(path.join(webRoot, 'index.html'))) skip(`the dashboard is not built (${webRoot}/index.html)`);

const require = createRequire(path.join(webDir, 'package.json'));
const { chromium: pw } = require('playwright-core');

const failures = [];
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- the server -------------------------------------------------------------------------------------------------
const server = spawn(exe, ['run', '--serve', '--port', '0'], { env: { ...process.env, OH_WEB_DIR: webRoot },
  stdio: ['ignore', 'pipe', 'pipe'] });
let serverOut = '';
const url = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`server did not start:\n${serverOut}`)), 60000);
  server.stdout.on('data', (d) => {
    serverOut += d;
    const m = /dashboard: (http:\/\/\S+)/.exec(serverOut);
    if (m) { clearTimeout(timer); resolve(m[1]); }
  });
  server.stderr.on('data', (d) => { serverOut += d; });
  server.on('exit', (code) => reject(new Error(`server exited ${code}:\n${serverOut}`)));
});
console.log(`server at ${url}`);

const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oh-e2e-chromium-'));
let context;
try {
  context = await pw.launchPersistentContext(userDir, {
    executablePath: chromium,
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] || await context.newPage();
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(url.replace(/\/$/, ''))) external.push(r.url()); });
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__oh && window.__oh.states > 20, null, { timeout: 30000 });
  check(true, 'page loads and the state stream arrives');
  check(external.length === 0, `nothing fetched from outside the server (${external.length} requests)`);
  await sleep(1000);

  // The canvas shows the robot: compare the rendered image with the robot shown and hidden.
  const pixels = await page.evaluate(() => {
    const { scene } = window.__oh;
    const grab = () => {
      scene.render();
      const src = scene.renderer.domElement;
      const c = document.createElement('canvas');
      c.width = src.width; c.height = src.height;
      const ctx = c.getContext('2d');
      ctx.drawImage(src, 0, 0);
      return ctx.getImageData(0, 0, c.width, c.height).data;
    };
    const shown = grab();
    scene.setRobotVisible(false);
    const hidden = grab();
    scene.setRobotVisible(true);
    let differ = 0, sum = 0, sum2 = 0;
    for (let i = 0; i < shown.length; i += 4) {
      const d = Math.abs(shown[i] - hidden[i]) + Math.abs(shown[i + 1] - hidden[i + 1]) + Math.abs(shown[i + 2] - hidden[i + 2]);
      if (d > 30) differ += 1;
      const l = shown[i] + shown[i + 1] + shown[i + 2];
      sum += l; sum2 += l * l;
    }
    const n = shown.length / 4;
    return { fraction: differ / n, std: Math.sqrt(Math.max(0, sum2 / n - (sum / n) ** 2)) };
  });
  check(pixels.std > 5, `canvas is not blank (luminance std ${pixels.std.toFixed(1)})`);
  check(pixels.fraction > 0.005, `the robot covers ${(100 * pixels.fraction).toFixed(2)}% of the canvas`);

  // Hold W: the robot walks forward.
  const state = () => page.evaluate(() => {
    const s = window.__oh.state;
    return { t: s.t, vx: s.base.heading_vel[0], cmd: s.command.applied[0], mode: s.mode, kp: s.gains.kp_max, kd: s.gains.kd_min,
      x: s.base.pos[0] };
  });
  const before = await state();
  await page.focus('body');
  await page.keyboard.down('w');
  const t0 = Date.now();
  const samples = [];
  let shot = false;
  while (Date.now() - t0 < 7000) {
    await sleep(100);
    const s = await state();
    if (Date.now() - t0 > 3000) samples.push(s);
    if (!shot && Date.now() - t0 > 5500) {
      fs.mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: path.join(artifacts, 'dashboard.png') });
      shot = true;
    }
  }
  await page.keyboard.up('w');
  const vx = samples.reduce((a, s) => a + s.vx, 0) / Math.max(1, samples.length);
  const last = samples[samples.length - 1];
  check(last.cmd > 0.1, `W sends a forward command (applied vx ${last.cmd.toFixed(2)} m/s)`);
  check(vx > 0.06 && vx > before.vx + 0.05, `measured vx rises: ${before.vx.toFixed(3)} -> ${vx.toFixed(3)} m/s (mode ${last.mode})`);
  check(last.x > before.x + 0.2, `the base moved forward ${(last.x - before.x).toFixed(2)} m`);

  // The e-stop button latches damping.
  await page.click('#estop');
  await page.waitForFunction(() => window.__oh.state.mode === 'estopped', null, { timeout: 5000 }).catch(() => {});
  await sleep(500);
  const e = await state();
  check(e.mode === 'estopped' && e.kp === 0 && e.kd > 0, `e-stop: mode ${e.mode}, kp max ${e.kp}, kd min ${e.kd}`);
  const modeText = await page.textContent('#mode');
  check(/ESTOPPED/.test(modeText), `the mode display reads ${modeText}`);
  await page.keyboard.down('w');
  await sleep(800);
  await page.keyboard.up('w');
  const e2 = await state();
  check(e2.mode === 'estopped', 'still e-stopped after pressing W');
  await page.screenshot({ path: path.join(artifacts, 'dashboard-estop.png') });
  await page.click('#btn-reset');
  await page.waitForFunction(() => window.__oh.state.mode === 'standing', null, { timeout: 5000 }).catch(() => {});
  check((await state()).mode === 'standing', 'reset releases the e-stop');
  console.log(`screenshots: ${path.join(artifacts, 'dashboard.png')}, dashboard-estop.png`);
} catch (err) {
  failures.push(String(err && err.stack ? err.stack : err));
  console.log(`FAIL ${err}`);
} finally {
  if (context) await context.close().catch(() => {});
  server.kill('SIGINT');
  fs.rmSync(userDir, { recursive: true, force: true });
}
if (failures.length) {
  console.log(`${failures.length} failure(s)`);
  process.exit(1);
}
console.log('all passed');
process.exit(0);
