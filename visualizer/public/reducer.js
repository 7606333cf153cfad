// The visualizer's view model: messages from /events in, what the page shows out.
// Plain JS (no build step) so the browser imports it as is; test/visualizer tests it in Node.

const LOG_LIMIT = 500;
/** Readings, and alarm marks, kept per connection (the server's hello sends as many). */
const POWER_LIMIT = 300;
/** Power alarms drawn as marks on the power chart (they stay in the log too). */
export const POWER_ALARMS = ['EVENT_POWER_WARNING', 'EVENT_POWER_CRITICAL', 'EVENT_POWER_TREND_WARNING'];

/** @returns {import('./reducer').View} */
export function initialView() {
  return { graph: undefined, layout: undefined, labels: {}, supervisor: { id: '', state: 'unknown', restarts: {} }, children: {}, order: [], log: [], power: {}, powerMarks: {} };
}

const topState = (value) => (typeof value === 'string' ? value : value && typeof value === 'object' ? Object.keys(value)[0] : undefined);

/**
 * @param {import('./reducer').View} view
 * @param {any} msg
 * @returns {import('./reducer').View}
 */
export function reduce(view, msg) {
  switch (msg && msg.type) {
    case 'hello': {
      let next = { ...initialView(), graph: msg.graph, layout: msg.layout, labels: msg.labels || {}, supervisor: { ...view.supervisor, id: msg.supervisor } };
      for (const m of msg.messages || []) next = reduce(next, m);
      return next;
    }
    case '@xstate.snapshot': {
      if (msg.machine === 'supervisor') {
        const known = new Set(msg.context.children.map((c) => c.id));
        const children = {};
        for (const c of msg.context.children) {
          const prev = view.children[c.id];
          children[c.id] = { id: c.id, state: 'disconnected', reconnectCount: 0, outbox: 0, lastError: undefined, ...prev, kind: prev?.kind ?? c.kind, restart: c.restart, restarts: msg.context.restarts[c.id] ?? 0 };
        }
        return {
          ...view,
          supervisor: { ...view.supervisor, state: topState(msg.value) ?? 'unknown', restarts: msg.context.restarts },
          children,
          order: msg.context.children.map((c) => c.id).filter((id) => known.has(id)),
        };
      }
      if (msg.machine === 'connection') {
        const prev = view.children[msg.actorId];
        const c = msg.context;
        const child = {
          id: msg.actorId,
          restart: prev?.restart,
          restarts: prev?.restarts ?? 0,
          kind: c.kind,
          state: msg.status === 'done' ? 'failed' : (msg.state ?? topState(msg.value)),
          value: msg.value,
          reconnectCount: c.reconnectCount,
          outbox: c.outbox,
          lastError: c.lastError ?? prev?.lastError,
        };
        const order = view.order.includes(msg.actorId) ? view.order : [...view.order, msg.actorId];
        return { ...view, children: { ...view.children, [msg.actorId]: child }, order };
      }
      return view;
    }
    case 'log': {
      const e = msg.event;
      const log = [...view.log, e];
      const next = { ...view, log: log.length > LOG_LIMIT ? log.slice(log.length - LOG_LIMIT) : log };
      if (e && POWER_ALARMS.includes(e.type) && typeof e.connectionId === 'string' && finite(e.data && e.data.watts) && finite(e.timestamp)) {
        next.powerMarks = append(view.powerMarks, e.connectionId, { type: e.type, watts: e.data.watts, at: e.timestamp });
      }
      return next;
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

const finite = (v) => typeof v === 'number' && Number.isFinite(v);

/** `byId` with `item` added to `id`'s list, which keeps its newest POWER_LIMIT. Own keys only: an id may be `__proto__`. */
function append(byId, id, item) {
  const list = [...(Object.hasOwn(byId, id) ? byId[id] : []), item];
  return { ...byId, [id]: list.length > POWER_LIMIT ? list.slice(list.length - POWER_LIMIT) : list };
}

/** Log entries that pass the filters (empty filter: everything). */
export function filterLog(log, { connection = '', type = '' } = {}) {
  return log.filter((e) => (!connection || e.connectionId === connection) && (!type || e.type === type));
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
