// The visualizer page: one WebSocket to /events, a reducer (reducer.js), and plain DOM/SVG drawing:
// the statechart (statechart.js), the fleet (fleet-panel.js), the power chart (power-chart.js), the replay timeline (timeline.js).
import { initialView, reduce, filterLog } from '/reducer.js';
import { createFleetPanel, sparkline } from '/fleet-panel.js';
import { createPowerChart } from '/power-chart.js';
import { createTimeline } from '/timeline.js';
import { drawStatechart, drawStatechartMarkers, selectConnection } from '/statechart.js'; // issue 17: the ELK-laid-out statechart

const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#2b6cb0', '#c05621', '#2f855a', '#b83280', '#6b46c1', '#975a16', '#00838f', '#c53030'];
/** Up to this many children, each has its marker on the statechart; above, only the selected one (and the counts). */
export const MARKERS_MAX = 64;

let view = initialView();
let ws;
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, text) => {
  const e = ['svg', 'g', 'text', 'title'].includes(tag) ? document.createElementNS(SVG, tag) : document.createElement(tag);
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

// The statechart (statechart.js): drawn from the server's layout on hello; its markers and counts on every update.
const drawChart = () => drawStatechart($('chart'), view.layout);

/** The children drawn as markers: all of a small fleet; of a large one, the selected child only. */
function markerIds() {
  const { order } = view.fleet;
  if (order.length <= MARKERS_MAX) return order;
  return fleet.selected !== null && view.fleet.rows.has(fleet.selected) ? [fleet.selected] : [];
}

/** The markers of `markerIds()`, and how many children each top-level state holds (top right of its box). */
function drawMarkers() {
  const svg = $('chart');
  const ids = markerIds();
  const children = {};
  for (const id of ids) children[id] = view.fleet.rows.get(id);
  drawStatechartMarkers(svg, { order: ids, children, color });
  svg.querySelector('g.counts')?.remove();
  const layout = view.layout;
  if (!layout || layout.error) return;
  const counts = el('g', { class: 'counts' });
  for (const s of layout.states) {
    if (!s.markers || !Object.hasOwn(view.fleet.byState, s.key)) continue;
    const n = view.fleet.byState[s.key];
    counts.append(el('text', { class: 'count', 'data-state': s.key, 'data-count': String(n), x: String(s.x + s.width), y: String(s.y - 4), 'text-anchor': 'end' }, n.toLocaleString('en-US')));
  }
  svg.append(counts);
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

const fleet = createFleetPanel({
  send,
  color,
  // A row selected in the list is the statechart's selected connection too (its active states highlighted).
  onSelect: (id) => {
    selectConnection($('chart'), id ?? undefined);
    render();
  },
});
// And a marker clicked on the statechart selects its row (statechart.js toggles the chart's own selection first).
$('chart').addEventListener('click', (e) => {
  if (!e.target.closest('g.marker')) return;
  const id = $('chart').dataset.selected ?? null;
  if (id !== fleet.selected) fleet.select(id);
});
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
    if (chartDrawnFor !== view.layout) {
      chartDrawnFor = view.layout;
      drawChart();
    }
    drawMarkers();
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
