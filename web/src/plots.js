// Live plots (uPlot): base velocity against the command, base height and tilt, controller tick time. A rolling
// window of the last `seconds` of the stream; redrawn at most `hz` times a second.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const AXIS = { stroke: '#7d8a99', grid: { stroke: '#232b36', width: 1 }, ticks: { stroke: '#2a3340', width: 1 },
  font: '11px system-ui, sans-serif' };

function makePlot(el, series, yLabel) {
  const opts = {
    width: el.clientWidth || 340, height: 120, legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false } },
    axes: [{ ...AXIS, size: 28 }, { ...AXIS, size: 46, label: yLabel, labelSize: 14, labelFont: '11px system-ui' }],
    series: [{ label: 't [s]', value: (u, v) => (v == null ? '—' : v.toFixed(2)) },
      ...series.map((s) => ({ width: 1.5, value: (u, v) => (v == null ? '—' : v.toFixed(3)), ...s }))],
  };
  const data = [[], ...series.map(() => [])];
  const plot = new uPlot(opts, data, el);
  new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 120 })).observe(el);
  return { plot, data };
}

export class Plots {
  constructor(seconds = 10, hz = 15) {
    this.seconds = seconds;
    this.period = 1000 / hz;
    this.last = 0;
    this.vel = makePlot(document.getElementById('plot-vel'), [
      { label: 'vx', stroke: '#ff8fab' }, { label: 'vx cmd', stroke: '#4ea1ff', dash: [6, 4] },
      { label: 'vy', stroke: '#ffd43b' }, { label: 'vy cmd', stroke: '#ffd43b', dash: [2, 4] },
      { label: 'wz', stroke: '#8ce99a' }], 'm/s, rad/s');
    this.pose = makePlot(document.getElementById('plot-pose'), [
      { label: 'height [m]', stroke: '#4ea1ff' }, { label: 'tilt [rad]', stroke: '#f5a524', scale: 'tilt' }], 'm');
    this.tick = makePlot(document.getElementById('plot-tick'), [
      { label: 'tick p50 [µs]', stroke: '#b197fc' }, { label: 'p99 [µs]', stroke: '#ff6b6b' }], 'µs');
  }

  push(s) {
    const t = s.t;
    const add = (p, values) => {
      const d = p.data;
      if (d[0].length && t < d[0][d[0].length - 1]) d.forEach((a) => { a.length = 0; });  // reset: t restarted
      d[0].push(t);
      values.forEach((v, i) => d[i + 1].push(v));
      while (d[0].length && d[0][0] < t - this.seconds) d.forEach((a) => a.shift());
    };
    const v = s.base.heading_vel, c = s.command.applied;
    add(this.vel, [v[0], c[0], v[1], c[1], v[2]]);
    add(this.pose, [s.base.height, s.base.tilt]);
    add(this.tick, [s.timing.tick_p50_us, s.timing.tick_p99_us]);
    const now = performance.now();
    if (now - this.last < this.period) return;
    this.last = now;
    for (const p of [this.vel, this.pose, this.tick]) p.plot.setData(p.data);
  }
}
