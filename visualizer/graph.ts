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
  const guardName = (g: unknown) => (typeof g === 'string' ? g : (g as { type?: string } | undefined)?.type);
  const walk = (node: Node) => {
    // A group's transitions leave from each of its children, unless the child handles that event itself.
    const sources = isGroup(node) ? (Object.values(node.states) as Node[]) : [node];
    for (const [eventType, defs] of node.transitions) {
      const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
      const name = after ? `after ${after[1]}` : eventType;
      for (const from of sources) {
        if (from !== node && from.transitions.has(eventType)) continue;
        for (const d of defs) for (const t of d.target ?? []) add(from, t as Node, d.guard ? `${name} [${guardName(d.guard)}]` : name);
      }
    }
    for (const d of node.always ?? []) for (const t of d.target ?? []) add(node, t as Node, d.guard ? `always [${guardName(d.guard)}]` : 'always');
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
