// The 3D view: every geom of the model (meshes included) on its body, the floor, orbit and follow cameras, and
// overlays for contact forces, the CoM, the support polygon and the command. World frame: z up (REP-103).
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';

/** Decodes base64 into a typed array of the given constructor (little-endian float32 / uint32). */
function decode(b64, Type) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; ++i) bytes[i] = bin.charCodeAt(i);
  return new Type(bytes.buffer);
}

/** A three.js geometry for one MuJoCo geom (MuJoCo size semantics: half-sizes and radii), or null. */
function geomGeometry(g, meshes) {
  const [a, b, c] = g.size;
  const alongZ = (geo) => geo.rotateX(Math.PI / 2);  // three's capsule and cylinder run along y
  switch (g.type) {
    case 'sphere': return new THREE.SphereGeometry(a, 24, 16);
    case 'capsule': return alongZ(new THREE.CapsuleGeometry(a, 2 * b, 8, 20));
    case 'cylinder': return alongZ(new THREE.CylinderGeometry(a, a, 2 * b, 24));
    case 'ellipsoid': return new THREE.SphereGeometry(1, 24, 16).scale(a, b, c);
    case 'box': return new THREE.BoxGeometry(2 * a, 2 * b, 2 * c);
    case 'mesh': {
      const m = meshes[g.mesh];
      if (!m) return null;
      const geo = new THREE.BufferGeometry();
      geo.setAttribute('position', new THREE.BufferAttribute(decode(m.vertices, Float32Array), 3));
      geo.setIndex(new THREE.BufferAttribute(decode(m.faces, Uint32Array), 1));
      geo.computeVertexNormals();
      return geo;
    }
    default: return null;
  }
}

export class Scene {
  /** @param {HTMLElement} el container; @param {object} robot the /api/robot JSON */
  constructor(el, robot) {
    this.el = el;
    this.robot = robot;
    this.follow = false;
    this.show = { contacts: true, com: true, support: true, cmd: true, robot: true };
    const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    renderer.shadowMap.enabled = true;
    renderer.setClearColor(0x0e1116);
    el.appendChild(renderer.domElement);
    this.renderer = renderer;

    const scene = new THREE.Scene();
    scene.fog = new THREE.Fog(0x0e1116, 12, 30);
    this.scene = scene;
    const camera = new THREE.PerspectiveCamera(45, 1, 0.02, 100);
    camera.up.set(0, 0, 1);
    camera.position.set(2.6, -2.4, 1.6);
    this.camera = camera;
    const controls = new OrbitControls(camera, renderer.domElement);
    controls.target.set(0, 0, 0.7);
    controls.enableDamping = true;
    this.controls = controls;

    scene.add(new THREE.HemisphereLight(0xdde6f0, 0x1a1f26, 1.6));
    const sun = new THREE.DirectionalLight(0xffffff, 2.2);
    sun.position.set(3, -2, 6);
    sun.castShadow = true;
    sun.shadow.mapSize.set(2048, 2048);
    Object.assign(sun.shadow.camera, { left: -3, right: 3, top: 3, bottom: -3, near: 0.5, far: 20 });
    scene.add(sun, sun.target);
    this.sun = sun;

    // Bodies and their geoms. Geom groups 0-2 are shown, 3 and up (collision meshes by convention) on demand,
    // as MuJoCo's viewer does.
    this.bodies = robot.bodies.map(() => new THREE.Group());
    this.bodies.forEach((g, i) => { if (i > 0) scene.add(g); });
    this.hiddenGroup = [];
    let floor = false;
    for (const g of robot.geoms) {
      if (g.type === 'plane') { floor = true; this.addFloor(g); continue; }
      if (g.rgba[3] <= 0) continue;
      const geo = geomGeometry(g, robot.meshes);
      if (!geo) continue;
      const [r, gg, b, alpha] = g.rgba;
      const mat = new THREE.MeshStandardMaterial({ color: new THREE.Color(r, gg, b), roughness: 0.55, metalness: 0.15,
        transparent: alpha < 1, opacity: alpha });
      const mesh = new THREE.Mesh(geo, mat);
      mesh.position.set(...g.pos);
      mesh.quaternion.set(g.quat[1], g.quat[2], g.quat[3], g.quat[0]);
      mesh.castShadow = mesh.receiveShadow = true;
      if (g.group >= 3) { mesh.visible = false; this.hiddenGroup.push(mesh); }
      (g.body > 0 ? this.bodies[g.body] : scene).add(mesh);
    }
    if (!floor) this.addFloor({ size: [0, 0, 0], pos: [0, 0, 0], quat: [1, 0, 0, 0] });

    // Overlays.
    this.overlay = new THREE.Group();
    scene.add(this.overlay);
    this.contactArrows = [];
    this.com = new THREE.Mesh(new THREE.SphereGeometry(0.035, 16, 12),
      new THREE.MeshBasicMaterial({ color: 0xffd43b, depthTest: false }));
    this.com.renderOrder = 10;
    this.comDrop = this.line(0xffd43b, 2);
    this.comGround = new THREE.Mesh(new THREE.RingGeometry(0.02, 0.035, 24),
      new THREE.MeshBasicMaterial({ color: 0xffd43b, side: THREE.DoubleSide }));
    this.support = this.line(0x2ecc71, 64, true);
    this.cmdArrow = new THREE.ArrowHelper(new THREE.Vector3(1, 0, 0), new THREE.Vector3(), 0.5, 0x4ea1ff, 0.12, 0.08);
    this.velArrow = new THREE.ArrowHelper(new THREE.Vector3(1, 0, 0), new THREE.Vector3(), 0.5, 0xff8fab, 0.1, 0.06);
    this.overlay.add(this.com, this.comDrop, this.comGround, this.support, this.cmdArrow, this.velArrow);

    this.resize();
    new ResizeObserver(() => this.resize()).observe(el);
    this.lastBase = null;
  }

  addFloor(g) {
    const half = g.size[0] > 0 ? Math.min(g.size[0], 50) : 25;
    // A 1 m checker with 0.25 m lines, drawn on a canvas (nothing fetched).
    const c = document.createElement('canvas');
    c.width = c.height = 256;
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#1d242e'; ctx.fillRect(0, 0, 256, 256);
    ctx.fillStyle = '#212a35'; ctx.fillRect(0, 0, 128, 128); ctx.fillRect(128, 128, 128, 128);
    ctx.strokeStyle = '#2c3744'; ctx.lineWidth = 1;
    for (let i = 0; i <= 256; i += 64) {
      ctx.beginPath(); ctx.moveTo(i, 0); ctx.lineTo(i, 256); ctx.moveTo(0, i); ctx.lineTo(256, i); ctx.stroke();
    }
    ctx.strokeStyle = '#3b4858'; ctx.lineWidth = 3; ctx.strokeRect(0, 0, 256, 256);
    const tex = new THREE.CanvasTexture(c);
    tex.wrapS = tex.wrapT = THREE.RepeatWrapping;
    tex.repeat.set(half, half);  // one tile (2 m) per 2 m
    tex.anisotropy = 8;
    tex.colorSpace = THREE.SRGBColorSpace;
    const plane = new THREE.Mesh(new THREE.PlaneGeometry(2 * half, 2 * half),
      new THREE.MeshStandardMaterial({ map: tex, roughness: 0.95 }));
    plane.receiveShadow = true;
    plane.position.set(...g.pos);
    const axes = new THREE.AxesHelper(0.4);
    axes.position.set(g.pos[0], g.pos[1], g.pos[2] + 0.002);
    this.scene.add(plane, axes);
  }

  line(color, n, loop = false) {
    const geo = new THREE.BufferGeometry();
    geo.setAttribute('position', new THREE.BufferAttribute(new Float32Array(3 * n), 3));
    geo.setDrawRange(0, 0);
    const mat = new THREE.LineBasicMaterial({ color, depthTest: false, transparent: true });
    const l = loop ? new THREE.LineLoop(geo, mat) : new THREE.Line(geo, mat);
    l.renderOrder = 9;
    return l;
  }

  setLine(l, pts) {
    const a = l.geometry.attributes.position;
    const n = Math.min(pts.length, a.count);
    for (let i = 0; i < n; ++i) a.setXYZ(i, pts[i][0], pts[i][1], pts[i][2]);
    a.needsUpdate = true;
    l.geometry.setDrawRange(0, n);
  }

  resize() {
    const w = this.el.clientWidth || 1, h = this.el.clientHeight || 1;
    this.renderer.setSize(w, h);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
  }

  setFollow(on) { this.follow = on; }

  /** Shows the geoms of groups 3 and up (collision geometry in most models). */
  setCollisionVisible(on) { this.hiddenGroup.forEach((m) => { m.visible = on; }); }

  setRobotVisible(on) {
    this.show.robot = on;
    this.bodies.forEach((b) => { b.visible = on; });
  }

  /** Applies one state message (see docs/api.md). */
  update(s) {
    const P = s.bodies.pos, Q = s.bodies.quat;
    for (let i = 1; i < this.bodies.length && 3 * i + 2 < P.length; ++i) {
      this.bodies[i].position.set(P[3 * i], P[3 * i + 1], P[3 * i + 2]);
      this.bodies[i].quaternion.set(Q[4 * i + 1], Q[4 * i + 2], Q[4 * i + 3], Q[4 * i]);
    }
    const base = s.base.pos;
    if (this.follow && this.lastBase) {
      const dx = base[0] - this.lastBase[0], dy = base[1] - this.lastBase[1];
      this.camera.position.x += dx; this.camera.position.y += dy;
      this.controls.target.x += dx; this.controls.target.y += dy;
    }
    this.lastBase = base.slice();
    this.sun.position.set(base[0] + 3, base[1] - 2, 6);
    this.sun.target.position.set(base[0], base[1], 0);

    // Contact forces: one arrow per contact, 1 mm per newton; support polygon: hull of the loaded contacts.
    const loaded = s.contacts.filter((c) => c[5] > 1.0);
    while (this.contactArrows.length < s.contacts.length) {
      const a = new THREE.ArrowHelper(new THREE.Vector3(0, 0, 1), new THREE.Vector3(), 0.1, 0xff6b6b, 0.04, 0.025);
      a.line.material.depthTest = false; a.cone.material.depthTest = false; a.renderOrder = 11;
      this.overlay.add(a);
      this.contactArrows.push(a);
    }
    this.contactArrows.forEach((a, i) => {
      const c = s.contacts[i];
      a.visible = this.show.contacts && !!c;
      if (!c) return;
      const f = new THREE.Vector3(c[3], c[4], c[5]);
      const len = Math.max(f.length() * 0.001, 1e-3);
      a.position.set(c[0], c[1], c[2]);
      a.setDirection(f.normalize());
      a.setLength(len, Math.min(0.04, 0.4 * len), Math.min(0.025, 0.25 * len));
    });
    const hull = convexHull(loaded.map((c) => [c[0], c[1]]));
    this.support.visible = this.show.support && hull.length > 1;
    this.setLine(this.support, hull.map((p) => [p[0], p[1], 0.004]));

    const com = s.com;
    this.com.position.set(...com);
    this.comGround.position.set(com[0], com[1], 0.003);
    this.setLine(this.comDrop, [com, [com[0], com[1], 0.003]]);
    this.com.visible = this.comDrop.visible = this.comGround.visible = this.show.com;

    // Command (blue) and measured velocity (pink) in the heading frame, drawn on the ground from the base.
    const qb = s.base.quat;
    const yaw = Math.atan2(2 * (qb[0] * qb[3] + qb[1] * qb[2]), 1 - 2 * (qb[2] * qb[2] + qb[3] * qb[3]));
    const arrow = (a, v, z) => {
      const x = v[0] * Math.cos(yaw) - v[1] * Math.sin(yaw), y = v[0] * Math.sin(yaw) + v[1] * Math.cos(yaw);
      const n = Math.hypot(x, y);
      a.visible = this.show.cmd && n > 0.01;
      if (!a.visible) return;
      a.position.set(base[0], base[1], z);
      a.setDirection(new THREE.Vector3(x / n, y / n, 0));
      a.setLength(0.25 + 1.5 * n, 0.12, 0.08);
    };
    arrow(this.cmdArrow, s.command.applied, 0.02);
    arrow(this.velArrow, s.base.heading_vel, 0.03);
  }

  render() {
    this.controls.update();
    this.renderer.render(this.scene, this.camera);
  }
}

/** Convex hull (Andrew's monotone chain) of 2D points, counter-clockwise. */
export function convexHull(points) {
  const p = points.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower = [], upper = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], q) <= 0) lower.pop();
    lower.push(q);
  }
  for (let i = p.length - 1; i >= 0; --i) {
    const q = p[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], q) <= 0) upper.pop();
    upper.push(q);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}
