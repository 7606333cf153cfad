// The visualizer's view model: messages from /events in, what the page shows out.
// Plain JS (no build step) so the browser imports it as is; test/visualizer tests it in Node.
//
// The fleet (thousands of rows) is updated in place: copying 10,000 rows per
// batch would cost more than drawing them. Everything else is replaced.

const LOG_LIMIT = 500;
/** Readings, and alarm marks, kept per connection (the server's hello sends as many). */
const POWER_LIMIT = 300;
/** Connections drawn on the power chart (the server keeps as many: visualizer/power.ts): the newest heard of stay. */
const POWER_CONNECTIONS = 64;
/** Power alarms drawn as marks on the power chart (they stay in the log too). */
export const POWER_ALARMS = ['EVENT_POWER_WARNING', 'EVENT_POWER_CRITICAL', 'EVENT_POWER_TREND_WARNING'];
/** The six states, in the order the counts show them. */
export const STATES = ['connected', 'connecting', 'reconnecting', 'tx_dropped', 'disconnected', 'failed'];

/** @returns {import('./reducer').Fleet} */
export function emptyFleet() {
  // No prototype: a kind may be called `__proto__`.
  return { rows: new Map(), order: [], byState: Object.create(null), byKind: Object.create(null), byKindState: Object.create(null), version: 0 };
}

/** @returns {import('./reducer').View} */
export function initialView() {
  return {
    mode: 'live',
    graph: undefined,
    layout: undefined,
    labels: {},
    supervisor: { id: '', state: 'unknown' },
    thresholds: { zeroW: 0.1, warningAfter: 1, criticalAfter: 3 },
    now: 0,
    fleet: emptyFleet(),
    log: [],
    logDropped: 0,
    power: {},
    powerMarks: {},
    history: undefined,
    timeline: undefined,
  };
}

const bump = (counts, key, by) => {
  const n = (Object.hasOwn(counts, key) ? counts[key] : 0) + by;
  if (n) counts[key] = n;
  else delete counts[key];
};
function count(fleet, row, by) {
  bump(fleet.byState, row.state, by);
  bump(fleet.byKind, row.kind, by);
  if (!Object.hasOwn(fleet.byKindState, row.kind)) fleet.byKindState[row.kind] = Object.create(null);
  bump(fleet.byKindState[row.kind], row.state, by);
  if (!Object.keys(fleet.byKindState[row.kind]).length) delete fleet.byKindState[row.kind];
}

/**
 * Rows in (each a whole row: it replaces the one with its id), ids out; the
 * counts follow. In place; `fleet.version` counts the changes.
 */
export function applyRows(fleet, rows = [], removed = []) {
  let dropped = false;
  for (const row of rows) {
    const prev = fleet.rows.get(row.id);
    if (prev) count(fleet, prev, -1);
    else fleet.order.push(row.id);
    fleet.rows.set(row.id, row);
    count(fleet, row, 1);
  }
  for (const id of removed) {
    const prev = fleet.rows.get(id);
    if (!prev) continue;
    count(fleet, prev, -1);
    fleet.rows.delete(id);
    dropped = true;
  }
  if (dropped) fleet.order = fleet.order.filter((id) => fleet.rows.has(id));
  if (rows.length || removed.length) fleet.version++;
  return fleet;
}

/**
 * @param {import('./reducer').View} view
 * @param {any} msg
 * @returns {import('./reducer').View}
 */
export function reduce(view, msg) {
  switch (msg && msg.type) {
    case 'hello': {
      let next = {
        ...initialView(),
        mode: msg.mode === 'replay' ? 'replay' : 'live',
        graph: msg.graph,
        layout: msg.layout,
        labels: msg.labels || {},
        supervisor: { id: msg.supervisor?.id ?? '', state: msg.supervisor?.state ?? 'unknown' },
        thresholds: msg.thresholds ?? initialView().thresholds,
        now: finite(msg.now) ? msg.now : 0,
        fleet: applyRows(emptyFleet(), msg.rows || []),
        log: (msg.log || []).slice(-LOG_LIMIT),
        timeline: msg.timeline,
      };
      next.fleet.version = view.fleet.version + 1; // a new picture: whatever was drawn is stale
      for (const m of msg.messages || []) next = reduce(next, m.type === 'log' ? { type: 'alarm', event: m.event } : m);
      return next;
    }
    case 'batch': {
      applyRows(view.fleet, msg.rows, msg.removed);
      let next = { ...view, now: finite(msg.now) ? Math.max(view.now, msg.now) : view.now };
      if (msg.supervisor) next.supervisor = { ...view.supervisor, state: msg.supervisor.state };
      if (msg.timeline) next.timeline = msg.timeline;
      if (msg.log?.length) next = appendLog(next, msg.log);
      if (msg.logDropped) next.logDropped = view.logDropped + msg.logDropped;
      for (const e of msg.alarms || []) next = reduce(next, { type: 'alarm', event: e });
      for (const r of msg.power || []) next = reduce(next, { type: 'power', reading: r });
      // A child that went takes its lines off the chart.
      if (msg.removed?.length) next = { ...next, power: without(next.power, msg.removed), powerMarks: without(next.powerMarks, msg.removed) };
      return next;
    }
    case 'timeline':
      return { ...view, timeline: msg.timeline };
    case 'history':
      return typeof msg.id === 'string' && Array.isArray(msg.events) ? { ...view, history: { id: msg.id, events: msg.events } } : view;
    case 'log':
      return appendLog(reduce(view, { type: 'alarm', event: msg.event }), [msg.event]);
    case 'alarm': {
      const e = msg.event;
      if (!(e && POWER_ALARMS.includes(e.type) && typeof e.connectionId === 'string' && finite(e.data && e.data.watts) && finite(e.timestamp))) return view;
      return { ...view, powerMarks: append(view.powerMarks, e.connectionId, { type: e.type, watts: e.data.watts, at: e.timestamp }) };
    }
    case 'power': {
      const r = msg.reading;
      if (!r || typeof r.connectionId !== 'string' || !finite(r.watts) || !finite(r.at)) return view;
      return { ...view, power: append(view.power, r.connectionId, { watts: r.watts, at: r.at }) };
    }
    default:
      return view;
  }
}

function appendLog(view, events) {
  const log = [...view.log, ...events];
  return { ...view, log: log.length > LOG_LIMIT ? log.slice(log.length - LOG_LIMIT) : log };
}

const finite = (v) => typeof v === 'number' && Number.isFinite(v);

/** `byId` with `item` added to `id`'s list, which keeps its newest POWER_LIMIT. Own keys only: an id may be `__proto__`. */
function append(byId, id, item) {
  const had = Object.hasOwn(byId, id);
  const list = [...(had ? byId[id] : []), item];
  const next = { ...byId, [id]: list.length > POWER_LIMIT ? list.slice(list.length - POWER_LIMIT) : list };
  if (!had) {
    // Past POWER_CONNECTIONS, the one heard of first goes (keys keep insertion order, integer-like ids aside).
    const ids = Object.keys(next);
    for (let i = 0; i < ids.length - POWER_CONNECTIONS; i++) delete next[ids[i]];
  }
  return next;
}

/** `byId` without the `ids` (the same object when it has none of them). */
function without(byId, ids) {
  if (!ids.some((id) => Object.hasOwn(byId, id))) return byId;
  const next = { ...byId };
  for (const id of ids) delete next[id];
  return next;
}

/** Log entries that pass the filters (empty filter: everything; `connection` is a substring of the id). */
export function filterLog(log, { connection = '', type = '' } = {}) {
  return log.filter((e) => (!connection || String(e.connectionId).includes(connection)) && (!type || e.type === type));
}

/**
 * The ids of the rows that pass the filters, in the fleet's order: `text` a
 * substring of the id (or of its label), `state` and `kind` exact ('' for any).
 */
export function filterFleet(fleet, { text = '', state = '', kind = '' } = {}, labels = {}) {
  if (!text && !state && !kind) return fleet.order;
  const out = [];
  for (const id of fleet.order) {
    const row = fleet.rows.get(id);
    if (!row || (state && row.state !== state) || (kind && row.kind !== kind)) continue;
    if (text && !id.includes(text) && !labelOf(labels, id).includes(text)) continue;
    out.push(id);
  }
  return out;
}

/**
 * Reconnects per bucket for a sparkline: `buckets` counts over the `spanMs`
 * ending at `now`, oldest first (times outside the span are not counted).
 */
export function reconnectBuckets(times = [], now, { buckets = 20, spanMs = 10 * 60_000 } = {}) {
  const out = new Array(buckets).fill(0);
  const start = now - spanMs;
  for (const t of times) {
    if (t <= start || t > now) continue;
    out[Math.min(buckets - 1, Math.floor(((t - start) / spanMs) * buckets))]++;
  }
  return out;
}

/**
 * The label of child `id`: `labels[id]`, else that of the longest key ending
 * in `*` whose start `id` begins with (`'apigw-*'` labels every `apigw-<n>`,
 * children that come and go), else ''.
 * @param {Record<string, string>} labels
 * @param {string} id
 */
export function labelOf(labels, id) {
  if (Object.hasOwn(labels, id)) return labels[id];
  let best = '';
  let label = '';
  for (const [key, value] of Object.entries(labels)) {
    if (!key.endsWith('*')) continue;
    const prefix = key.slice(0, -1);
    if (id.startsWith(prefix) && prefix.length >= best.length) [best, label] = [prefix, value];
  }
  return label;
}
