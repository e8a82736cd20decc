// The joint table: q against its limits (bar with the position marked), dq against the velocity limit and the
// effort τ against the effort limit. Rows near a limit are amber (within 10% of the range), at a limit red.
const NEAR = 0.10, AT = 0.02, HOT = 0.9;

export class JointTable {
  constructor(el, joints) {
    this.joints = joints;
    el.innerHTML = '';
    this.rows = joints.map((j) => {
      const row = document.createElement('div');
      row.className = 'jrow';
      const lim = j.lower != null ? `[${j.lower.toFixed(2)}, ${j.upper.toFixed(2)}] rad` : 'unlimited';
      row.title = `${j.name}\nq ${lim}\ndq limit ${j.velocity_limit ?? '—'}\nτ limit ${j.effort_limit ?? '—'}`;
      row.innerHTML = `<span class="name">${j.name}</span><span class="bar"><span class="fill"></span>` +
        '<span class="mark"></span></span><span class="num q"></span><span class="num dq"></span><span class="num tau"></span>';
      el.appendChild(row);
      return { row, fill: row.querySelector('.fill'), mark: row.querySelector('.mark'), q: row.querySelector('.q'),
        dq: row.querySelector('.dq'), tau: row.querySelector('.tau') };
    });
  }

  update(s) {
    const { q, dq, tau } = s.joints;
    this.joints.forEach((j, i) => {
      const r = this.rows[i];
      if (!r || q[i] == null) return;
      let state = '';
      if (j.lower != null && j.upper > j.lower) {
        const f = (q[i] - j.lower) / (j.upper - j.lower);
        const margin = Math.min(f, 1 - f);
        state = margin < AT ? 'at' : margin < NEAR ? 'near' : '';
        const z = Math.min(Math.max((0 - j.lower) / (j.upper - j.lower), 0), 1);  // where q = 0 sits
        const fc = Math.min(Math.max(f, 0), 1);
        r.mark.style.left = `${100 * fc}%`;
        r.fill.style.left = `${100 * Math.min(z, fc)}%`;
        r.fill.style.width = `${100 * Math.abs(fc - z)}%`;
      }
      r.row.className = `jrow ${state}`;
      r.q.textContent = q[i].toFixed(3);
      r.dq.textContent = dq[i].toFixed(2);
      r.tau.textContent = tau[i].toFixed(1);
      r.dq.classList.toggle('hot', j.velocity_limit != null && Math.abs(dq[i]) > HOT * j.velocity_limit);
      r.tau.classList.toggle('hot', j.effort_limit != null && Math.abs(tau[i]) > HOT * j.effort_limit);
    });
  }
}
