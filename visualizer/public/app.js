// The visualizer page: one WebSocket to /events, a reducer (reducer.js), and plain DOM/SVG drawing:
// the statechart (below), the fleet (fleet-panel.js), the power chart (power-chart.js), the replay timeline (timeline.js).
import { initialView, reduce, filterLog } from '/reducer.js';
import { createFleetPanel, sparkline } from '/fleet-panel.js';
import { createPowerChart } from '/power-chart.js';
import { createTimeline } from '/timeline.js';

const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#2b6cb0', '#c05621', '#2f855a', '#b83280', '#6b46c1', '#975a16', '#00838f', '#c53030'];
// Where the known states sit; any other state gets a slot in a row below.
const SPOTS = {
  disconnected: [110, 215], connecting: [330, 75], connected: [620, 75],
  reconnecting: [470, 330], tx_dropped: [800, 330], failed: [170, 360],
};
const W = 150, H = 56;
/** Up to this many children, each has its marker on the statechart; above, only the selected one (and counts). */
export const MARKERS_MAX = 64;

let view = initialView();
let ws;
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, text) => {
  const e = tag === 'svg' || ['g', 'rect', 'text', 'path', 'circle', 'defs', 'marker', 'polyline', 'title', 'line'].includes(tag) ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};
const send = (msg) => { if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); };
// A child's colour: by its place among the children (the first eight keep theirs as others come and go).
const colorIndex = new Map();
const color = (id) => {
  if (!colorIndex.has(id)) colorIndex.set(id, colorIndex.size);
  return COLORS[colorIndex.get(id) % COLORS.length];
};

function spots() {
  const out = {};
  let extra = 0;
  for (const s of view.graph.states) out[s.key] = SPOTS[s.key] ?? [110 + 180 * extra++, 400];
  return out;
}

function drawChart() {
  const svg = $('chart');
  svg.replaceChildren();
  if (!view.graph) return;
  const pos = spots();
  const defs = el('defs');
  const m = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' });
  m.append(el('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#8a94a6' }));
  defs.append(m);
  svg.append(defs);
  // Edges: a curve per direction, so A→B and B→A do not overlap; label at the middle.
  for (const e of view.graph.edges) {
    const [x1, y1] = pos[e.source], [x2, y2] = pos[e.target];
    const dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy) || 1;
    const nx = -dy / len, ny = dx / len, bend = 28;
    const cx = (x1 + x2) / 2 + nx * bend, cy = (y1 + y2) / 2 + ny * bend;
    const clip = (x, y, tx, ty) => { const ddx = tx - x, ddy = ty - y; const t = Math.min(W / 2 / Math.abs(ddx || 1e-9), H / 2 / Math.abs(ddy || 1e-9), 1); return [x + ddx * t, y + ddy * t]; };
    const [sx, sy] = clip(x1, y1, cx, cy), [ex, ey] = clip(x2, y2, cx, cy);
    const g = el('g', { class: 'edge', 'data-source': e.source, 'data-target': e.target });
    g.append(el('path', { d: `M ${sx} ${sy} Q ${cx} ${cy} ${ex} ${ey}` }));
    const label = e.labels.map((l) => l.replace(/ \[isCurrentLink\]/, '')).join(', ');
    const mx = (sx + 2 * cx + ex) / 4, my = (sy + 2 * cy + ey) / 4; // the curve's midpoint
    const t = el('text', { x: String(mx), y: String(my + 3), 'text-anchor': 'middle' }, label.length > 46 ? `${label.slice(0, 44)}…` : label);
    t.append(el('title', {}, e.labels.join('\n')));
    g.append(t);
    svg.append(g);
  }
  for (const s of view.graph.states) {
    const [x, y] = pos[s.key];
    const g = el('g', { class: `state ${s.type}`, 'data-state': s.key, transform: `translate(${x - W / 2} ${y - H / 2})` });
    g.append(el('rect', { width: String(W), height: String(H) }));
    g.append(el('text', { x: String(W / 2), y: '22' }, s.key));
    if (s.children.length) g.append(el('text', { class: 'sub', x: String(W / 2), y: '40' }, s.children.join(' · ')));
    svg.append(g);
  }
  drawMarkers();
}

/** The children drawn as markers: all of a small fleet; of a large one, the selected child only. */
function markerIds() {
  const { order } = view.fleet;
  if (order.length <= MARKERS_MAX) return order;
  return fleet.selected !== null && view.fleet.rows.has(fleet.selected) ? [fleet.selected] : [];
}

/** Each state's count (top right of its box) and the markers of `markerIds()`. */
function drawMarkers() {
  const svg = $('chart');
  svg.querySelectorAll('.marker, .count').forEach((m) => m.remove());
  if (!view.graph) return;
  const pos = spots();
  for (const s of view.graph.states) {
    const n = view.fleet.byState[s.key] ?? 0;
    const [x, y] = pos[s.key];
    svg.append(el('text', { class: 'count', 'data-state': s.key, 'data-count': String(n), x: String(x + W / 2 - 6), y: String(y - H / 2 + 14), 'text-anchor': 'end' }, n ? n.toLocaleString('en-US') : ''));
  }
  const per = {};
  for (const id of markerIds()) {
    const c = view.fleet.rows.get(id);
    if (!c || !pos[c.state]) continue;
    const i = (per[c.state] = (per[c.state] ?? 0) + 1) - 1;
    const [x, y] = pos[c.state];
    const g = el('g', { class: `marker${id === fleet.selected ? ' selected' : ''}`, 'data-child': id, 'data-state': c.state, transform: `translate(${x - W / 2 + 12 + (i % 8) * 17} ${y + H / 2 + 9 + Math.floor(i / 8) * 17})` });
    g.append(el('circle', { r: id === fleet.selected ? '9' : '7', fill: color(id) }));
    g.append(el('title', {}, `${id}: ${c.state}`));
    svg.append(g);
  }
}

function drawHeader() {
  $('sup-id').textContent = view.supervisor.id;
  $('sup-state').textContent = view.supervisor.state;
  $('sup-state').className = `badge s-${view.supervisor.state === 'running' ? 'connected' : 'failed'}`;
}

const eventLine = (e) => `${new Date(e.timestamp).toISOString().slice(11, 23)} ${e.connectionId} ${e.type} → ${e.state}${e.data && Object.keys(e.data).length ? ' ' + JSON.stringify(e.data) : ''}`;

function drawLog() {
  const ft = $('f-type');
  const have = new Set([...ft.options].map((o) => o.value));
  for (const v of [...new Set(view.log.map((e) => e.type))].sort()) if (!have.has(v)) ft.append(el('option', { value: v }, v));
  const list = $('log');
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.replaceChildren(...filterLog(view.log, { connection: $('f-conn').value.trim(), type: ft.value }).slice(-200).map((e) => el('li', { 'data-type': e.type }, eventLine(e))));
  if (atBottom) list.scrollTop = list.scrollHeight;
  $('log-dropped').textContent = view.logDropped ? `${view.logDropped.toLocaleString('en-US')} events left out of busy updates` : '';
}

/** The selected child: its row, a larger sparkline of its reconnects, and its events (the server's history, then the live log). */
function drawDetail() {
  const box = $('detail');
  const id = fleet.selected;
  const c = id === null ? undefined : view.fleet.rows.get(id);
  if (!c) {
    box.replaceChildren(el('p', { class: 'hint' }, id === null ? 'Click a row to follow one connection: its details, reconnects and events.' : `${id} is not in the fleet (now).`));
    box.dataset.child = '';
    return;
  }
  box.dataset.child = id;
  const dl = el('dl');
  for (const [k, v] of [['id', id], ['kind', c.kind], ['state', c.state], ['retries', c.reconnectCount], ['outbox', c.outbox], ['restart', `${c.restart ?? '?'} (${c.restarts} restarts)`], ['last error', c.lastError ? `${c.lastError.name}: ${c.lastError.message}` : '—']]) {
    dl.append(el('dt', {}, k), el('dd', { 'data-field': k }, String(v)));
  }
  const spark = el('div', { class: 'detail-spark' });
  spark.append(el('span', {}, 'reconnects, last 10 minutes '), sparkline(c.reconnects, view.now, { width: 240, height: 36 }));
  const seen = new Set();
  const events = [...(view.history?.id === id ? view.history.events : []), ...view.log.filter((e) => e.connectionId === id)]
    .filter((e) => { const k = `${e.timestamp}|${e.type}|${JSON.stringify(e.data)}`; return !seen.has(k) && seen.add(k); })
    .sort((a, b) => a.timestamp - b.timestamp)
    .slice(-50);
  const ol = el('ol', { class: 'detail-log' });
  ol.append(...events.map((e) => el('li', { 'data-type': e.type }, eventLine(e))));
  box.replaceChildren(dl, spark, ol);
}

const fleet = createFleetPanel({ send, color, onSelect: () => render() });
const power = createPowerChart({
  // Children keep their colour; any other id (a power$ of the user's) gets the next one.
  colorOf: (id) => color(id),
  onReady: () => render(),
});
const timeline = createTimeline({ send });

let scheduled = false;
let chartDrawnFor;
function render() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    if (chartDrawnFor !== view.graph) {
      chartDrawnFor = view.graph;
      drawChart();
    } else drawMarkers();
    drawHeader();
    fleet.render(view);
    drawDetail();
    drawLog();
    power.update(view);
    timeline.render(view);
  });
}

$('f-conn').oninput = $('f-type').onchange = () => drawLog();

function connect() {
  ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/events`);
  ws.onopen = () => {
    if (fleet.selected !== null) send({ action: 'select', id: fleet.selected });
  };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    view = reduce(view, msg);
    if (msg.type === 'hello') {
      $('conn').textContent = view.mode === 'replay' ? 'replay' : 'live';
      $('conn').className = `badge s-${view.mode === 'replay' ? 'tx_dropped' : 'connected'}`;
    }
    render();
  };
  ws.onclose = () => {
    $('conn').textContent = 'reconnecting…';
    $('conn').className = 'badge s-reconnecting';
    setTimeout(connect, 1000);
  };
}
connect();
window.__statewire = {
  get view() { return view; },
  get powerChart() { return power.chart; },
  fleet,
};
