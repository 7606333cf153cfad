// The visualizer's view model: messages from /events in, what the page shows out.
// Plain JS (no build step) so the browser imports it as is; test/visualizer tests it in Node.

const LOG_LIMIT = 500;

/** @returns {import('./reducer').View} */
export function initialView() {
  return { graph: undefined, labels: {}, supervisor: { id: '', state: 'unknown', restarts: {} }, children: {}, order: [], log: [], power: [] };
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
      let next = { ...initialView(), graph: msg.graph, labels: msg.labels || {}, supervisor: { ...view.supervisor, id: msg.supervisor } };
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
      const log = [...view.log, msg.event];
      return { ...view, log: log.length > LOG_LIMIT ? log.slice(log.length - LOG_LIMIT) : log };
    }
    case 'power': {
      const power = [...view.power, msg.reading];
      return { ...view, power: power.length > 300 ? power.slice(power.length - 300) : power };
    }
    default:
      return view;
  }
}

/** Log entries that pass the filters (empty filter: everything). */
export function filterLog(log, { connection = '', type = '' } = {}) {
  return log.filter((e) => (!connection || e.connectionId === connection) && (!type || e.type === type));
}
