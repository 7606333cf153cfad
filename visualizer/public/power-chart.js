// The power chart (issue 17 §3): uPlot (served from node_modules by the
// visualizer server, no CDN), one line per radio link, time on x, watts on y;
// the zero line (a reading under `thresholds.zeroW` is a zero: PowerMonitor's
// 0.1 W) drawn dashed, and the warning/critical alarms (counts of zeros in a
// row) as marks on the chart, in uPlot's overlay so they are plain elements.

const $ = (id) => document.getElementById(id);
const niceMax = (v) => { const p = 10 ** Math.floor(Math.log10(v)); return [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((k) => k * p).find((n) => n >= v); };
const clockTime = (t) => new Date(t).toISOString().slice(11, 19);
const ZERO_COLOR = '#c53030';

let uPlot;
let loading;
/** uPlot's module, or null when it is not served (the package is missing). */
function loadUPlot() {
  loading ??= import('/vendor/uPlot.esm.js').then((m) => (uPlot = m.default), () => (uPlot = null));
  return loading;
}

/** @param {{ colorOf(id: string, heard: string[]): string, onReady(): void }} deps */
export function createPowerChart({ colorOf, onReady }) {
  void loadUPlot().then(onReady);
  let chart;
  let yTop = 1;
  const topOf = () => yTop;
  let seriesKey = '';
  let marks = [];
  let drawnFrom;

  function placeMarks(u) {
    u.over.querySelectorAll('.power-mark').forEach((m) => m.remove());
    for (const m of marks) {
      const left = u.valToPos(m.at / 1000, 'x');
      const top = u.valToPos(m.watts, 'y');
      const dot = document.createElement('div');
      dot.className = `power-mark ${m.type === 'EVENT_POWER_CRITICAL' ? 'critical' : 'warning'}`;
      dot.dataset.connection = m.id;
      dot.dataset.type = m.type;
      dot.style.left = `${left}px`;
      dot.style.top = `${top}px`;
      dot.title = `${clockTime(m.at)} ${m.id} ${m.type} ${m.watts} W`;
      u.over.append(dot);
    }
  }

  function update(view) {
    if (uPlot === undefined) return; // onReady draws it
    if (drawnFrom && drawnFrom.power === view.power && drawnFrom.powerMarks === view.powerMarks && drawnFrom.thresholds === view.thresholds && drawnFrom.fleet === view.fleet.version) return;
    drawnFrom = { power: view.power, powerMarks: view.powerMarks, thresholds: view.thresholds, fleet: view.fleet.version };
    // Children in the list's order, then any other id (a power$ of the user's) as first heard: the same on every page.
    const heard = Object.keys(view.power);
    const place = new Map(heard.map((id) => [id, view.fleet.rows.has(id) ? view.fleet.order.indexOf(id) : view.fleet.order.length + heard.indexOf(id)]));
    const ids = heard.filter((id) => view.power[id].length).sort((p, q) => place.get(p) - place.get(q));
    if (!ids.length) {
      chart?.destroy();
      chart = undefined;
      seriesKey = '';
      $('power-legend').replaceChildren();
      return;
    }
    if (uPlot === null) {
      $('power-note').textContent = 'The chart library (uplot) is not installed: npm install uplot.';
      return;
    }
    // x: every reading's time (seconds, as uPlot wants), each line null where it has none.
    marks = ids.flatMap((id) => (Object.hasOwn(view.powerMarks, id) ? view.powerMarks[id] : []).map((m) => ({ ...m, id })));
    const times = new Set();
    for (const id of ids) for (const p of view.power[id]) times.add(p.at);
    for (const m of marks) times.add(m.at); // an alarm after the last reading stays on the chart
    const xs = [...times].sort((a, b) => a - b);
    const index = new Map(xs.map((t, i) => [t, i]));
    const lines = ids.map((id) => {
      const ys = new Array(xs.length).fill(null);
      for (const p of view.power[id]) ys[index.get(p.at)] = p.watts;
      return ys;
    });
    const zeroW = view.thresholds.zeroW;
    const data = [xs.map((t) => t / 1000), xs.map(() => zeroW), ...lines];
    let most = 1;
    for (const ys of lines) for (const y of ys) if (y !== null && y > most) most = y;
    for (const m of marks) most = Math.max(most, m.watts);
    const top = niceMax(most * 1.05);
    const colors = ids.map((id) => colorOf(id, heard));

    yTop = top;
    const key = `${ids.join('\u0000')}|${colors.join(',')}`;
    const box = $('power');
    if (!chart || key !== seriesKey) {
      chart?.destroy();
      seriesKey = key;
      chart = new uPlot({
        width: Math.max(300, box.clientWidth || 400),
        height: 220,
        legend: { show: false },
        scales: { x: { time: true }, y: { range: () => [0, topOf()] } },
        axes: [{}, { label: 'watts', size: 50 }],
        series: [
          { label: 'time' },
          { label: `zero (< ${zeroW} W)`, stroke: ZERO_COLOR, dash: [6, 4], width: 1, points: { show: false } },
          ...ids.map((id, i) => ({ label: id, stroke: colors[i], width: 2, spanGaps: true, points: { show: true, size: 5, fill: colors[i] } })),
        ],
        hooks: { draw: [placeMarks] },
      }, data, box);
    } else {
      chart.setData(data);
    }

    const legend = $('power-legend');
    const zero = document.createElement('li');
    zero.className = 'threshold';
    zero.dataset.watts = String(zeroW);
    zero.innerHTML = `<span class="dash"></span> zero line ${zeroW} W: <b>${view.thresholds.warningAfter}</b> zero reading${view.thresholds.warningAfter > 1 ? 's' : ''} in a row warn (ring), <b>${view.thresholds.criticalAfter}</b> are critical (dot)`;
    legend.replaceChildren(zero, ...ids.map((id, i) => {
      const readings = view.power[id];
      const last = readings[readings.length - 1];
      const li = document.createElement('li');
      li.dataset.connection = id;
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = colors[i];
      const b = document.createElement('b');
      b.dataset.role = 'watts';
      b.textContent = `${last.watts.toFixed(1)} W`;
      li.append(sw, ` ${id} `, b);
      return li;
    }));
    const n = ids.reduce((sum, id) => sum + view.power[id].length, 0);
    $('power-note').textContent = `${n} readings from ${ids.length} connection${ids.length > 1 ? 's' : ''}, ${clockTime(xs[0])}–${clockTime(xs[xs.length - 1])} UTC.`;
  }
  addEventListener('resize', () => chart?.setSize({ width: Math.max(300, $('power').clientWidth || 400), height: 220 }));

  return {
    update,
    /** The uPlot instance (tests read its data and positions). */
    get chart() {
      return chart;
    },
  };
}
