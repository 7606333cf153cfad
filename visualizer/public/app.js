// The visualizer page: one WebSocket to /events, a reducer (reducer.js), and plain DOM/SVG drawing.
import { initialView, reduce, filterLog, labelOf } from '/reducer.js';
import { drawStatechart, drawStatechartMarkers } from '/statechart.js'; // issue 17: the ELK-laid-out statechart

const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#2b6cb0', '#c05621', '#2f855a', '#b83280', '#6b46c1', '#975a16', '#00838f', '#c53030'];

let view = initialView();
let ws;
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, text) => {
  const e = tag === 'svg' || ['g', 'rect', 'text', 'path', 'circle', 'defs', 'marker', 'polyline', 'title', 'line'].includes(tag) ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};
const color = (id) => COLORS[view.order.indexOf(id) % COLORS.length] ?? '#444';

// The statechart (statechart.js, issue 17): drawn from the server's layout on hello, its markers on every update.
const drawChart = () => drawStatechart($('chart'), view.layout);
const drawMarkers = () => drawStatechartMarkers($('chart'), { order: view.order, children: view.children, color });

function drawChildren() {
  const body = $('children').tBodies[0];
  body.replaceChildren();
  for (const id of view.order) {
    const c = view.children[id];
    if (!c) continue;
    const tr = el('tr', { 'data-child': id });
    const sw = el('span', { class: 'swatch' });
    sw.style.background = color(id);
    const labelText = labelOf(view.labels, id);
    const label = labelText ? ` (${labelText})` : '';
    const cells = [sw, `${id}${label}`, c.kind, null, String(c.reconnectCount), String(c.outbox), c.lastError ? `${c.lastError.name}: ${c.lastError.message}` : '', String(c.restarts)];
    cells.forEach((v, i) => {
      const td = el('td', i === 6 ? { class: 'err', title: v || '' } : {});
      if (i === 3) td.append(el('span', { class: `badge s-${c.state}`, 'data-role': 'state' }, c.state));
      else if (typeof v === 'string') td.textContent = v;
      else td.append(v);
      tr.append(td);
    });
    const actions = el('td');
    for (const [action, text] of [['drop-link', 'drop link'], ['tx-drop', 'TX drop'], ['disconnect', 'disconnect'], ['connect', 'connect']]) {
      const b = el('button', { 'data-action': action, 'data-child': id }, text);
      b.onclick = () => ws?.send(JSON.stringify({ action, id }));
      actions.append(b);
    }
    tr.append(actions);
    body.append(tr);
  }
  $('sup-id').textContent = view.supervisor.id;
  $('sup-state').textContent = view.supervisor.state;
  $('sup-state').className = `badge s-${view.supervisor.state === 'running' ? 'connected' : 'failed'}`;
}

function drawLog() {
  const fc = $('f-conn'), ft = $('f-type');
  for (const [sel, values] of [[fc, view.order], [ft, [...new Set(view.log.map((e) => e.type))].sort()]]) {
    const have = new Set([...sel.options].map((o) => o.value));
    for (const v of values) if (!have.has(v)) sel.append(el('option', { value: v }, v));
  }
  const list = $('log');
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.replaceChildren(...filterLog(view.log, { connection: fc.value, type: ft.value }).slice(-200).map((e) =>
    el('li', { 'data-type': e.type }, `${new Date(e.timestamp).toISOString().slice(11, 23)} ${e.connectionId} ${e.type} → ${e.state}${Object.keys(e.data).length ? ' ' + JSON.stringify(e.data) : ''}`)));
  if (atBottom) list.scrollTop = list.scrollHeight;
}

// The power chart: one line per connection, time (`at`) on x, watts on y; alarms as dots.
const PW = 400, PH = 160, PL = 44, PR = 10, PT = 10, PB = 34; // viewBox and margins
const niceMax = (v) => { const p = 10 ** Math.floor(Math.log10(v)); return [1, 2, 5, 10].map((k) => k * p).find((n) => n >= v); };
const clockTime = (t) => new Date(t).toISOString().slice(11, 19);

function drawPower() {
  // Children in the table's order (and colours), then any other id (a power$ of the user's) as first heard.
  const heard = Object.keys(view.power);
  const rank = (id) => (view.order.includes(id) ? view.order.indexOf(id) : view.order.length + heard.indexOf(id));
  const powerColor = (id) => (view.order.includes(id) ? color(id) : COLORS[rank(id) % COLORS.length]);
  const ids = heard.filter((id) => view.power[id].length).sort((p, q) => rank(p) - rank(q));
  if (!ids.length) return;
  const marks = ids.flatMap((id) => (Object.hasOwn(view.powerMarks, id) ? view.powerMarks[id] : []).map((m) => ({ ...m, id })));
  const all = [...ids.flatMap((id) => view.power[id]), ...marks];
  let t0 = Infinity, t1 = -Infinity, most = 1; // loops, not Math.min(...): thousands of points
  for (const p of all) { t0 = Math.min(t0, p.at); t1 = Math.max(t1, p.at); most = Math.max(most, p.watts); }
  t1 = Math.max(t1, t0 + 1000);
  const top = niceMax(most);
  const x = (t) => (PL + ((t - t0) / (t1 - t0)) * (PW - PL - PR)).toFixed(1);
  const y = (w) => (PT + (1 - w / top) * (PH - PT - PB)).toFixed(1);
  const svg = $('power');
  svg.replaceChildren();
  const axes = el('g', { class: 'axes' });
  for (const w of [0, top / 2, top]) {
    axes.append(el('line', { x1: String(PL), x2: String(PW - PR), y1: y(w), y2: y(w), class: w ? 'grid' : 'axis' }));
    axes.append(el('text', { x: String(PL - 4), y: String(Number(y(w)) + 3), 'text-anchor': 'end' }, String(w)));
  }
  axes.append(el('line', { x1: String(PL), x2: String(PL), y1: String(PT), y2: y(0), class: 'axis' }));
  axes.append(el('text', { class: 'title', transform: `translate(11 ${(PT + PH - PB) / 2}) rotate(-90)`, 'text-anchor': 'middle' }, 'watts'));
  axes.append(el('text', { x: String(PL), y: String(PH - PB + 13), 'text-anchor': 'start' }, clockTime(t0)));
  axes.append(el('text', { x: String(PW - PR), y: String(PH - PB + 13), 'text-anchor': 'end' }, clockTime(t1)));
  axes.append(el('text', { class: 'title', x: String((PL + PW - PR) / 2), y: String(PH - 4), 'text-anchor': 'middle' }, 'time (UTC)'));
  svg.append(axes);
  const legend = $('power-legend');
  legend.replaceChildren();
  for (const id of ids) {
    const readings = view.power[id], stroke = powerColor(id), last = readings[readings.length - 1];
    svg.append(el('polyline', { class: 'power-line', 'data-connection': id, stroke, points: readings.map((p) => `${x(p.at)},${y(p.watts)}`).join(' ') }));
    svg.append(el('circle', { class: 'power-last', 'data-connection': id, fill: stroke, r: '2.5', cx: x(last.at), cy: y(last.watts) }));
    const li = el('li', { 'data-connection': id });
    const sw = el('span', { class: 'swatch' });
    sw.style.background = stroke;
    li.append(sw, ` ${id} `, el('b', { 'data-role': 'watts' }, `${last.watts.toFixed(1)} W`));
    legend.append(li);
  }
  for (const m of marks) {
    const dot = el('circle', { class: `power-mark ${m.type === 'EVENT_POWER_CRITICAL' ? 'critical' : 'warning'}`, 'data-connection': m.id, 'data-type': m.type, r: '3.5', cx: x(m.at), cy: y(m.watts) });
    dot.append(el('title', {}, `${clockTime(m.at)} ${m.id} ${m.type} ${m.watts} W`));
    svg.append(dot);
  }
  const n = ids.reduce((sum, id) => sum + view.power[id].length, 0);
  $('power-note').textContent = `${n} readings from ${ids.length} connection${ids.length > 1 ? 's' : ''}; red dots: power critical, red rings: warning or falling trend.`;
}

let scheduled = false;
function render(full) {
  if (full) drawChart();
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    drawMarkers();
    drawChildren();
    drawLog();
    drawPower();
  });
}

$('f-conn').onchange = $('f-type').onchange = () => drawLog();

function connect() {
  ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/events`);
  ws.onopen = () => { $('conn').textContent = 'live'; $('conn').className = 'badge s-connected'; };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    view = reduce(view, msg);
    render(msg.type === 'hello');
  };
  ws.onclose = () => {
    $('conn').textContent = 'reconnecting…';
    $('conn').className = 'badge s-reconnecting';
    setTimeout(connect, 1000);
  };
}
connect();
window.__statewire = { get view() { return view; } };
