/**
 * The statechart as data, taken from the machine definition itself (never a
 * hand-drawn copy): the config JSON the Stately editor imports, and a graph of
 * the states a connection can be in and labelled transitions for the visualizer to draw.
 */
import type { AnyStateMachine } from 'xstate';

/** The machine's config as plain JSON (functions such as `context` are left out): importable by the Stately editor. */
export function machineConfig(machine: AnyStateMachine): Record<string, unknown> {
  return JSON.parse(JSON.stringify(machine.config)) as Record<string, unknown>;
}

export interface GraphState {
  /** Full id (`connection.connected`). */
  id: string;
  key: string;
  type: string;
  /** Child state keys (drawn inside the box). */
  children: string[];
  initial: boolean;
  /** The grouping state it is drawn in (`active`), if any. */
  group?: string;
}

export interface GraphEdge {
  source: string;
  target: string;
  /** Event names, `after <delay>` and `always` for eventless ones, with `[guard]` when guarded. */
  labels: string[];
}

export interface MachineGraph {
  id: string;
  states: GraphState[];
  edges: GraphEdge[];
}

type Node = AnyStateMachine['root'];

/** A guard as written: `isCurrentLink`, `not(isFastPath)`, `and(a, b)`; an inline function by its name. */
export function guardText(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const g = guard as { name?: string; guards?: unknown[]; stateValue?: unknown };
    if (Array.isArray(g.guards)) return `${g.name}(${g.guards.map(guardText).join(', ')})`;
    if (g.stateValue !== undefined) return `stateIn(${JSON.stringify(g.stateValue)})`;
    // An arrow function written as `guard: () => …` is named after the property.
    return g.name && g.name !== 'guard' ? g.name : 'inline';
  }
  if (guard && typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string') return (guard as { type: string }).type;
  return 'guard';
}

/**
 * A transition's label, in full: the event (`'LINK_OPEN'`), `after <delay>`
 * for a delayed one (`ms` added to a number), `always` for an eventless one
 * (event type `''`), then ` [guard]` when guarded.
 */
export function transitionLabel(eventType: string, guard?: unknown): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  const name = after ? `after ${after[1]}${/^\d+$/.test(after[1]!) ? ' ms' : ''}` : eventType === '' ? 'always' : eventType;
  return guard === undefined ? name : `${name} [${guardText(guard)}]`;
}

/** A state that only groups others (`meta: { group: true }`, connectionMachine's `active`): never a state a connection is "in". */
const isGroup = (node: Node) => (node.meta as { group?: unknown } | undefined)?.group === true;

/**
 * The states a connection can be in and the transitions between them. Those
 * are the top-level states, except that a group (`active`) is replaced by its
 * children, which inherit its transitions; a transition from a sub-state
 * counts for the state drawn around it.
 */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const root = machine.root;
  const top = Object.values(root.states) as Node[];
  const drawn = top.flatMap((s) => (isGroup(s) ? (Object.values(s.states) as Node[]) : [s]));
  const drawnOf = (node: Node): Node | undefined => {
    let n: Node | undefined = node;
    while (n && !drawn.includes(n)) n = n.parent;
    return n;
  };
  const edges = new Map<string, GraphEdge>();
  const add = (from: Node, to: Node, label: string) => {
    const s = drawnOf(from);
    const t = drawnOf(to);
    if (!s || !t || s === t) return;
    const key = `${s.key}->${t.key}`;
    const e = edges.get(key) ?? { source: s.key, target: t.key, labels: [] };
    if (!e.labels.includes(label)) e.labels.push(label);
    edges.set(key, e);
  };
  const walk = (node: Node) => {
    // A group's transitions leave from each of its children, unless the child handles that event itself.
    const sources = isGroup(node) ? (Object.values(node.states) as Node[]) : [node];
    for (const [eventType, defs] of node.transitions) {
      for (const from of sources) {
        if (from !== node && from.transitions.has(eventType)) continue;
        for (const d of defs) for (const t of d.target ?? []) add(from, t as Node, transitionLabel(eventType, d.guard));
      }
    }
    for (const d of node.always ?? []) for (const t of d.target ?? []) add(node, t as Node, transitionLabel('', d.guard));
    for (const child of Object.values(node.states) as Node[]) walk(child);
  };
  // Root-level transitions apply in every state; they stay inside states here (SEND, link crashes), so they draw nothing.
  for (const s of top) walk(s);
  const initialKey = typeof root.config.initial === 'string' ? root.config.initial : undefined;
  return {
    id: root.id,
    states: drawn.map((s) => ({
      id: s.id,
      key: s.key,
      type: s.type,
      children: Object.keys(s.states),
      initial: s.key === initialKey,
      ...(s.parent && s.parent !== root ? { group: s.parent.key } : {}),
    })),
    edges: [...edges.values()],
  };
}

/** A state of the full statechart: every state node, nested as in the machine. */
export interface ChartState {
  /** The state node's id (`connection.active.connected`), unique in the machine. */
  id: string;
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** The id of the child entered first (compound states). */
  initial?: string;
  /** `meta: { group: true }`: a frame around states, never a state a connection is "in". */
  group: boolean;
  /** Transitions without a target (actions only): listed inside the state, not drawn as arrows. */
  internal: string[];
  children: ChartState[];
}

/** One arrow: a transition with a target (one per target), self-transitions included. */
export interface ChartTransition {
  /** `t0`, `t1`, … in the machine's order. */
  id: string;
  source: string;
  target: string;
  /** In full (`transitionLabel`): `always [retriesExhausted]`. */
  label: string;
}

export interface MachineChart {
  id: string;
  /** The machine's root state (titled with the machine's id). */
  root: ChartState;
  transitions: ChartTransition[];
}

/**
 * The whole statechart as a tree, as Stately draws it: every state node
 * (nested ones inside their parents, the `active` group as a frame), every
 * transition with a target as one labelled arrow from the node that declares
 * it (a group's transitions leave the group's frame, a self-transition loops
 * back), targetless ones as text inside their state. `machineGraph` is the
 * flat view of the same machine (the six states a connection can be in).
 */
export function machineChart(machine: AnyStateMachine): MachineChart {
  const transitions: ChartTransition[] = [];
  const arrow = (source: Node, target: Node, label: string) => transitions.push({ id: `t${transitions.length}`, source: source.id, target: target.id, label });
  const visit = (node: Node): ChartState => {
    const internal: string[] = [];
    const defs = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
    for (const d of defs) {
      const label = transitionLabel(d.eventType, d.guard);
      if (!d.target?.length) internal.push(label);
      for (const t of d.target ?? []) arrow(node, t as Node, label);
    }
    const initial = node.type === 'compound' ? (node.initial?.target?.[0] as Node | undefined)?.id : undefined;
    return {
      id: node.id,
      key: node.key,
      type: node.type,
      ...(initial ? { initial } : {}),
      group: isGroup(node),
      internal,
      children: (Object.values(node.states) as Node[]).map(visit),
    };
  };
  const root = visit(machine.root);
  return { id: machine.root.id, root, transitions };
}
