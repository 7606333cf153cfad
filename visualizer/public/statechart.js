// The statechart, drawn from the layout the server computed with ELK (visualizer/layout.ts):
// boxes, routed arrows and labels at the positions given, nothing placed here.
// Markers show each connection in its state; a selected connection's active states are highlighted.
// Used by app.js: drawStatechart(svg, layout) on hello, drawStatechartMarkers(svg, view) on updates.

const SVG = 'http://www.w3.org/2000/svg';
const el = (tag, attrs = {}, text) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
};
/** Per svg: the layout drawn, the last marker arguments (to redraw on a click). */
const drawn = new WeakMap();
const MARK = 15; // a marker's slot
const r1 = (n) => Math.round(n * 10) / 10;
const path = (points) => points.map((p, i) => `${i ? 'L' : 'M'} ${r1(p.x)} ${r1(p.y)}`).join(' ');

/** Text in `box`: shrunk to the box (never cut) if the page's font is wider than the server assumed. */
function fit(text, width) {
  const used = text.getComputedTextLength();
  if (used > width) {
    text.setAttribute('textLength', String(r1(width)));
    text.setAttribute('lengthAdjust', 'spacingAndGlyphs');
  }
}

/** Each state's key path (`active.connected`), for matching a snapshot's value. */
function paths(layout) {
  const byId = new Map(layout.states.map((s) => [s.id, s]));
  const out = new Map();
  for (const s of layout.states) {
    const keys = [];
    for (let p = s; p && p.parent; p = byId.get(p.parent)) keys.unshift(p.key);
    out.set(keys.join('.'), s);
  }
  return out;
}

/** The states a snapshot value is in, outermost first: `{ active: { connected: 'watching' } }` → active, active.connected, active.connected.watching. */
function activePaths(value, prefix = '') {
  if (typeof value === 'string') return [prefix + value];
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [prefix + k, ...activePaths(v, `${prefix}${k}.`)]);
}

/** Draw `layout` (a `MachineLayout`, visualizer/layout.ts) into `svg`, replacing what it held. */
export function drawStatechart(svg, layout) {
  svg.replaceChildren();
  drawn.set(svg, { layout });
  if (!layout) return;
  if (layout.error) {
    svg.setAttribute('viewBox', '0 0 600 40');
    svg.append(el('text', { class: 'error', x: 10, y: 24 }, layout.error));
    return;
  }
  svg.setAttribute('viewBox', `0 0 ${r1(layout.width)} ${r1(layout.height)}`);
  svg.setAttribute('width', String(Math.ceil(layout.width)));
  svg.setAttribute('height', String(Math.ceil(layout.height)));
  // As wide as the panel, never wider than laid out: text stays at the size it was measured for, or smaller.
  svg.style.maxWidth = `${Math.ceil(layout.width)}px`;
  svg.style.setProperty('--title-font', layout.fonts.title);
  svg.style.setProperty('--label-font', layout.fonts.label);
  const defs = el('defs');
  const m = el('marker', { id: 'sc-arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '8', markerHeight: '8', orient: 'auto-start-reverse' });
  m.append(el('path', { d: 'M 0 0 L 10 5 L 0 10 z' }));
  defs.append(m);
  svg.append(defs);
  // Outer states first, so nested ones are drawn over them.
  const states = el('g', { class: 'states' });
  const byId = new Map(layout.states.map((s) => [s.id, s]));
  for (const s of [...layout.states].sort((a, b) => a.depth - b.depth)) {
    const region = byId.get(s.parent)?.type === 'parallel'; // a parallel state's regions: dashed
    const g = el('g', { class: `state ${s.type}${s.group ? ' group' : ''}${region ? ' region' : ''}${s.depth === 0 ? ' root' : ''}`, 'data-id': s.id, 'data-state': s.key });
    if (s.type === 'history') g.append(el('circle', { cx: r1(s.x + s.width / 2), cy: r1(s.y + s.height / 2), r: r1(s.width / 2) }));
    else g.append(el('rect', { x: r1(s.x), y: r1(s.y), width: r1(s.width), height: r1(s.height), rx: 8 }));
    if (s.type === 'final') g.append(el('rect', { class: 'inner', x: r1(s.x + 3), y: r1(s.y + 3), width: r1(s.width - 6), height: r1(s.height - 6), rx: 6 }));
    const simple = s.type !== 'compound' && s.type !== 'parallel';
    const t = el('text', { x: r1(simple ? s.title.x + s.title.width / 2 : s.title.x), y: r1(s.title.y + s.title.height / 2), 'text-anchor': simple ? 'middle' : 'start', class: `title ${simple ? 'middle' : 'start'}` }, s.title.text);
    g.append(t);
    for (const line of s.internal) g.append(el('text', { class: 'internal', x: r1(line.x), y: r1(line.y + line.height / 2) }, line.text));
    states.append(g);
  }
  svg.append(states);
  const edges = el('g', { class: 'edges' });
  for (const i of layout.initials) {
    const g = el('g', { class: 'initial', 'data-state': i.state, 'data-target': i.target });
    g.append(el('circle', { cx: r1(i.dot.x + i.dot.width / 2), cy: r1(i.dot.y + i.dot.height / 2), r: r1(i.dot.width / 2) }));
    g.append(el('path', { d: path(i.points) }));
    edges.append(g);
  }
  for (const a of layout.arrows) {
    const g = el('g', { class: 'edge', 'data-id': a.id, 'data-source': a.source, 'data-target': a.target });
    g.append(el('path', { d: path(a.points) }));
    const l = a.label;
    g.append(el('rect', { class: 'label-bg', x: r1(l.x), y: r1(l.y), width: r1(l.width), height: r1(l.height), rx: 3 }));
    // One text per transition, each line of the label box in full.
    const lineH = l.height / l.lines.length;
    l.lines.forEach((line, i) => g.append(el('text', { class: 'label middle', x: r1(l.x + l.width / 2), y: r1(l.y + lineH * (i + 0.5)), 'text-anchor': 'middle' }, line)));
    edges.append(g);
  }
  svg.append(edges);
  svg.append(el('g', { class: 'markers' }));
  // Measured once drawn: a font wider than the layout assumed is shrunk into its box.
  for (const g of svg.querySelectorAll('g.edge')) {
    const width = g.querySelector('rect.label-bg').width.baseVal.value - 2;
    g.querySelectorAll('text.label').forEach((t) => fit(t, width));
  }
  for (const s of layout.states) {
    const g = svg.querySelector(`g.state[data-id="${CSS.escape(s.id)}"]`);
    fit(g.querySelector('text.title'), s.width - 12);
    g.querySelectorAll('text.internal').forEach((t) => fit(t, s.width - 16));
  }
}


/** Highlight connection `id`'s active states (undefined: none), as a click on its marker does. */
export function selectConnection(svg, id) {
  if (id) svg.dataset.selected = id;
  else delete svg.dataset.selected;
  const last = drawn.get(svg);
  if (last?.markers) drawStatechartMarkers(svg, last.markers);
}

/**
 * Markers: one dot per connection (`order`, `children` of the page's view),
 * in the state its snapshot is in (`state`, refined by `value`), coloured by
 * `color(id)`; a `+n` when a state holds more than fit. A click on a dot
 * selects that connection: its active states are highlighted (and a second
 * click clears it).
 */
export function drawStatechartMarkers(svg, markers) {
  const { order, children, color } = markers;
  const last = drawn.get(svg);
  const layer = svg.querySelector('g.markers');
  if (!last || !layer) return;
  last.markers = markers;
  const { layout } = last;
  const selected = svg.dataset.selected;
  layer.replaceChildren();
  const byPath = paths(layout);
  const holders = layout.states.filter((s) => s.markers);
  const placed = new Map();
  for (const id of order) {
    const c = children[id];
    if (!c) continue;
    const active = activePaths(c.value).map((p) => byPath.get(p)).filter(Boolean);
    const home = active.find((s) => s.markers && s.key === c.state) ?? holders.find((s) => s.key === c.state) ?? active.filter((s) => s.markers).pop();
    if (!home) continue;
    placed.set(home, [...(placed.get(home) ?? []), id]);
  }
  for (const [s, ids] of placed) {
    const fits = Math.max(1, Math.floor(s.markers.width / MARK));
    const shown = ids.length > fits ? ids.slice(0, fits - 1) : ids;
    shown.forEach((id, i) => {
      const g = el('g', { class: `marker${id === selected ? ' selected' : ''}`, 'data-child': id, 'data-state': children[id].state, transform: `translate(${r1(s.markers.x + MARK / 2 + i * MARK)} ${r1(s.markers.y + s.markers.height / 2)})` });
      g.append(el('circle', { r: '6', fill: color(id) }));
      g.append(el('title', {}, `${id}: ${children[id].state}`));
      g.addEventListener('click', () => selectConnection(svg, id === selected ? undefined : id));
      layer.append(g);
    });
    if (shown.length < ids.length) {
      layer.append(el('text', { class: 'more', 'data-state': s.key, x: r1(s.markers.x + shown.length * MARK + 2), y: r1(s.markers.y + s.markers.height / 2) }, `+${ids.length - shown.length}`));
    }
  }
  const current = new Set(selected && children[selected] ? activePaths(children[selected].value).map((p) => byPath.get(p)?.id) : []);
  for (const g of svg.querySelectorAll('g.state')) g.classList.toggle('current', current.has(g.dataset.id));
}
