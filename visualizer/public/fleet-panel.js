// The fleet at a glance (issue 17 §2): counts per state and kind (click to
// filter), a search by id, and a virtualized child list: rows have a fixed
// height and only those in the scroll window (plus a few) are in the DOM, so
// 15,000 children cost as much to draw as 30. A click on a row selects it.
import { STATES, filterFleet, labelOf, reconnectBuckets } from '/reducer.js';

export const ROW_HEIGHT = 30;
const OVERSCAN = 8;
const SVG = 'http://www.w3.org/2000/svg';
const ACTIONS = [['drop-link', 'drop link'], ['tx-drop', 'TX drop'], ['disconnect', 'disconnect'], ['connect', 'connect']];

const $ = (id) => document.getElementById(id);
function el(tag, attrs = {}, text) {
  const e = ['svg', 'rect', 'title', 'line'].includes(tag) ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
const fmt = (n) => n.toLocaleString('en-US');

/**
 * A sparkline of reconnects: one bar per bucket of the last 10 minutes
 * (before `now`, the supervisor's time). `data-reconnects`: how many in all.
 */
export function sparkline(times, now, { width = 80, height = 18, buckets = 20 } = {}) {
  const counts = reconnectBuckets(times, now, { buckets });
  const total = counts.reduce((a, b) => a + b, 0);
  const most = Math.max(1, ...counts);
  const svg = el('svg', { class: 'spark', width: String(width), height: String(height), viewBox: `0 0 ${width} ${height}`, 'data-reconnects': String(total) });
  const w = width / buckets;
  svg.append(el('line', { x1: '0', x2: String(width), y1: String(height - 0.5), y2: String(height - 0.5), class: 'base' }));
  counts.forEach((n, i) => {
    if (!n) return;
    const h = Math.max(2, (n / most) * (height - 2));
    svg.append(el('rect', { x: (i * w + 0.5).toFixed(1), y: (height - h).toFixed(1), width: Math.max(1, w - 1).toFixed(1), height: h.toFixed(1), 'data-count': String(n) }));
  });
  svg.append(el('title', {}, `${total} reconnect${total === 1 ? '' : 's'} in the last 10 minutes`));
  return svg;
}

/**
 * @param {{ send(msg: object): void, color(id: string): string, onSelect(id: string | null): void }} deps
 */
export function createFleetPanel({ send, color, onSelect }) {
  const filters = { text: '', state: '', kind: '' };
  let selected = null;
  let view;
  let ids = [];
  let idsKey = '';
  let drawnKey = '';
  let drawn = new Map();
  const scroll = $('children-scroll');
  const body = $('children').tBodies[0];

  /** The filtered ids, recomputed only when the fleet or the filters changed. */
  function visibleIds() {
    const key = `${view.fleet.version}|${filters.text}|${filters.state}|${filters.kind}`;
    if (key !== idsKey) {
      ids = filterFleet(view.fleet, filters, view.labels);
      idsKey = key;
    }
    return ids;
  }

  function setFilter(name, value) {
    filters[name] = filters[name] === value ? '' : value; // a second click on the same chip clears it
    scroll.scrollTop = 0;
    drawCounts();
    drawList(true);
  }

  // Chips and kind buttons are updated in place, never rebuilt: a click must not land on a button a batch just replaced.
  const chips = new Map();
  const kindRows = new Map();
  function chip(state) {
    let b = chips.get(state);
    if (!b) {
      b = el('button', { type: 'button', class: `chip s-${state || 'all'}`, 'data-state': state });
      b.append(el('span', {}, state ? state.replace('_', ' ') : 'all'), el('b', { class: 'n' }));
      b.onclick = () => setFilter('state', state);
      chips.set(state, b);
    }
    return b;
  }

  function drawCounts() {
    const { fleet } = view;
    const total = fleet.rows.size;
    $('fleet-total').textContent = `${fmt(total)} ${total === 1 ? 'child' : 'children'}`;
    const states = [...STATES, ...Object.keys(fleet.byState).filter((s) => !STATES.includes(s)).sort()];
    const shown = ['', ...states].map((state) => {
      const n = state ? (fleet.byState[state] ?? 0) : total;
      const b = chip(state);
      if (b.dataset.count !== String(n)) {
        b.dataset.count = String(n);
        b.lastChild.textContent = fmt(n);
      }
      b.setAttribute('aria-pressed', String(filters.state === state));
      return b;
    });
    const box = $('fleet-states');
    if (box.children.length !== shown.length || shown.some((b, i) => box.children[i] !== b)) box.replaceChildren(...shown);
    // Per kind: how many, and how many in each state that has any.
    const used = states.filter((s) => fleet.byState[s]);
    const headKey = used.join(',');
    const thead = $('fleet-kinds').tHead;
    if (thead.dataset.key !== headKey) {
      thead.dataset.key = headKey;
      const head = el('tr');
      head.append(el('th', {}, 'kind'), el('th', {}, 'children'), ...used.map((s) => el('th', {}, s.replace('_', ' '))));
      thead.replaceChildren(head);
    }
    const kinds = Object.keys(fleet.byKind).sort();
    const trs = kinds.map((kind) => {
      let tr = kindRows.get(kind);
      if (!tr) {
        tr = el('tr', { 'data-kind': kind });
        const b = el('button', { type: 'button', class: 'link', 'data-kind': kind }, kind);
        b.onclick = () => setFilter('kind', kind);
        const name = el('td');
        name.append(b);
        tr.append(name);
        kindRows.set(kind, tr);
      }
      tr.firstChild.firstChild.setAttribute('aria-pressed', String(filters.kind === kind));
      const per = fleet.byKindState[kind] ?? {};
      const cells = [el('td', { 'data-count': String(fleet.byKind[kind]) }, fmt(fleet.byKind[kind])), ...used.map((s) => el('td', { 'data-state': s }, per[s] ? fmt(per[s]) : ''))];
      while (tr.children.length > 1) tr.lastChild.remove();
      tr.append(...cells);
      return tr;
    });
    for (const kind of kindRows.keys()) if (!Object.hasOwn(fleet.byKind, kind)) kindRows.delete(kind);
    const tbody = $('fleet-kinds').tBodies[0];
    if (tbody.children.length !== trs.length || trs.some((tr, i) => tbody.children[i] !== tr)) tbody.replaceChildren(...trs);
  }

  function row(id) {
    const c = view.fleet.rows.get(id);
    const tr = el('tr', { class: `row${id === selected ? ' selected' : ''}`, 'data-child': id, 'data-state': c.state, 'data-kind': c.kind });
    const sw = el('span', { class: 'swatch' });
    sw.style.background = color(id);
    const label = labelOf(view.labels, id);
    const cells = [sw, label ? `${id} (${label})` : id, c.kind, null, String(c.reconnectCount), String(c.outbox), c.lastError ? `${c.lastError.name}: ${c.lastError.message}` : '', String(c.restarts)];
    cells.forEach((v, i) => {
      const td = el('td', i === 6 || i === 1 ? { class: i === 6 ? 'err' : 'id', title: v || '' } : {});
      if (i === 3) td.append(el('span', { class: `badge s-${c.state}`, 'data-role': 'state' }, c.state));
      else if (typeof v === 'string') td.textContent = v;
      else td.append(v);
      tr.append(td);
    });
    const spark = el('td', { class: 'spark-cell' });
    spark.append(sparkline(c.reconnects, view.now));
    tr.append(spark);
    const actions = el('td', { class: 'actions' });
    for (const [action, text] of ACTIONS) {
      const b = el('button', { type: 'button', 'data-action': action, 'data-child': id }, text);
      b.disabled = view.mode === 'replay';
      b.onclick = (ev) => {
        ev.stopPropagation();
        send({ action, id });
      };
      actions.append(b);
    }
    tr.append(actions);
    tr.onclick = () => select(id === selected ? null : id);
    return tr;
  }

  /** The rows in the scroll window, between two spacers that keep the scroll height. */
  function drawList(force = false) {
    const list = visibleIds();
    const total = view.fleet.rows.size;
    const shown = $('fleet-shown');
    shown.textContent = list.length === total ? `all ${fmt(total)} shown` : `${fmt(list.length)} of ${fmt(total)} shown`;
    shown.dataset.shown = String(list.length);
    const height = Math.max(scroll.clientHeight, 480); // its max-height: a short list grows to it
    const first = Math.max(0, Math.floor(scroll.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(list.length, Math.ceil((scroll.scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
    const key = `${idsKey}|${first}|${last}|${selected}|${view.now}`;
    if (!force && key === drawnKey) return;
    drawnKey = key;
    const top = el('tr', { class: 'spacer', 'aria-hidden': 'true' });
    top.style.height = `${first * ROW_HEIGHT}px`;
    const bottom = el('tr', { class: 'spacer', 'aria-hidden': 'true' });
    bottom.style.height = `${(list.length - last) * ROW_HEIGHT}px`;
    const rows = [];
    const next = new Map();
    for (let i = first; i < last; i++) {
      const id = list[i];
      const c = view.fleet.rows.get(id);
      // The same row object (a batch replaces changed ones): its <tr> stays, so a click on it is never lost.
      const stamp = `${id === selected}|${c.reconnects ? view.now : 0}|${view.mode}`;
      const kept = drawn.get(id);
      const tr = kept && kept.c === c && kept.stamp === stamp ? kept.tr : row(id);
      next.set(id, { c, stamp, tr });
      rows.push(tr);
    }
    drawn = next;
    body.replaceChildren(top, ...rows, bottom);
  }

  function select(id) {
    selected = id;
    send({ action: 'select', id });
    onSelect(id);
    drawList(true);
  }

  let scrolling = false;
  scroll.addEventListener('scroll', () => {
    if (scrolling) return;
    scrolling = true;
    requestAnimationFrame(() => {
      scrolling = false;
      if (view) drawList();
    });
  });
  let typing;
  $('fleet-search').addEventListener('input', (e) => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      filters.text = e.target.value.trim();
      scroll.scrollTop = 0;
      drawList(true);
    }, 80);
  });
  $('fleet-clear').onclick = () => {
    Object.assign(filters, { text: '', state: '', kind: '' });
    $('fleet-search').value = '';
    drawCounts();
    drawList(true);
  };

  return {
    get selected() {
      return selected;
    },
    filters,
    /** Draw what changed; `view.fleet.version` says whether anything did. */
    render(next) {
      view = next;
      if (selected !== null && !view.fleet.rows.has(selected) && view.mode === 'live') select(null);
      drawCounts();
      drawList();
    },
    select,
  };
}
