/**
 * The statechart laid out by ELK (`elkjs`, the layered algorithm, as
 * Stately's tools do): every state a box, nested states inside their parents
 * (compound nodes, `hierarchyHandling: INCLUDE_CHILDREN`), each transition a
 * routed polyline with its label placed by ELK as a label of its own, so no
 * two labels overlap and none is cut short. Computed once per machine on the
 * server (`layoutMachine` caches it) and sent to the page, which only draws
 * the boxes, lines and text at these positions (public/statechart.js).
 *
 * Text is sized here, before any browser sees it: labels and the transitions
 * listed inside a state are set in a monospace font (every glyph 0.6 em in
 * the usual ones, so a width is a character count), titles in a bold sans
 * serif estimated per character on the wide side. The page shrinks a text
 * that would still overflow its box (a font wider than assumed) rather than
 * let it spill or cut it.
 */
import type { AnyStateMachine } from 'xstate';
import type { ElkExtendedEdge, ElkNode, LayoutOptions } from 'elkjs/lib/elk-api.js';
import { machineChart, type ChartState, type MachineChart } from './graph.js';

export interface Point {
  x: number;
  y: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A text and the box it is drawn in (absolute coordinates). */
export interface TextBox extends Box {
  text: string;
}

export interface LaidState extends Box {
  id: string;
  key: string;
  type: ChartState['type'];
  group: boolean;
  /** The enclosing state's id; none for the machine's root. */
  parent?: string;
  /** Nesting depth: 0 for the root. */
  depth: number;
  /** The state's name, at the top of its box (centred in a simple state, at the left of a compound one). */
  title: TextBox;
  /** Targetless transitions, one line each under the title. */
  internal: TextBox[];
  /** Where markers of connections in this state go (states a connection can be "in": top-level ones and a top-level group's children). */
  markers?: Box;
}

/**
 * One arrow per source and target: the transitions between them are the
 * lines of its label, each in full, in the machine's order.
 */
export interface LaidArrow {
  /** `a0`, `a1`, … */
  id: string;
  source: string;
  target: string;
  /** The ids of the `ChartTransition`s it draws. */
  transitions: string[];
  /** The route, start to end (ELK's start point, bend points, end point); the arrowhead is at the end. */
  points: Point[];
  /** The label's box; `text` is the lines joined by newlines. */
  label: TextBox & { lines: string[] };
}

/** The dot and arrow that mark the initial child of a compound state. */
export interface LaidInitial {
  /** The compound state's id. */
  state: string;
  target: string;
  dot: Box;
  points: Point[];
}

export interface MachineLayout {
  machine: string;
  width: number;
  height: number;
  /** The fonts the sizes assume; the page draws with them. */
  fonts: { title: string; label: string };
  states: LaidState[];
  arrows: LaidArrow[];
  initials: LaidInitial[];
}

const TITLE_PX = 13;
const LABEL_PX = 11;
export const FONTS = {
  title: `600 ${TITLE_PX}px system-ui, "DejaVu Sans", "Segoe UI", Roboto, Helvetica, Arial, sans-serif`,
  label: `${LABEL_PX}px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace`,
};
const MONO_EM = 0.62; // DejaVu Sans Mono, Menlo, Liberation Mono: 0.60; Consolas 0.55
const LINE = 15; // a label's or an internal line's height
const TITLE_LINE = 20;
const PAD = 10; // inside a box, around its text
const LABEL_PAD = 3; // around a label's text
const MARKS = 18; // the marker strip
const MIN_WIDTH = 96;
const DOT = 10; // the initial marker

/** Width of `text` in the label font (monospace). */
export function labelWidth(text: string): number {
  return Math.ceil([...text].length * LABEL_PX * MONO_EM);
}

/** Width of `text` in the title font, estimated on the wide side (DejaVu Sans Bold is among the widest). */
export function titleWidth(text: string): number {
  let em = 0;
  for (const c of text) em += /[iljtfr.,:;'!| ]/.test(c) ? 0.42 : /[mwMW]/.test(c) ? 1.08 : /[A-Z]/.test(c) ? 0.8 : 0.72;
  return Math.ceil(em * TITLE_PX);
}

/** What ELK is asked for everywhere (every compound node carries them: ELK reads spacing per graph). */
const OPTIONS: LayoutOptions = {
  'elk.algorithm': 'layered',
  // Top to bottom: a chart of a dozen states fits a page's width.
  'elk.direction': 'DOWN',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.edgeLabels.placement': 'CENTER',
  'elk.spacing.edgeLabel': '3',
  'elk.spacing.labelLabel': '4',
  'elk.spacing.nodeNode': '24',
  'elk.spacing.edgeNode': '14',
  'elk.spacing.edgeEdge': '10',
  'elk.layered.spacing.nodeNodeBetweenLayers': '30',
  'elk.layered.spacing.edgeNodeBetweenLayers': '14',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '10',
  'elk.json.edgeCoords': 'ROOT',
  'elk.json.shapeCoords': 'ROOT',
};

const isCompound = (s: ChartState) => s.children.length > 0;

/** What sits above a compound state's children, or fills a simple state: title and internal lines. */
function header(s: ChartState) {
  const internal = s.internal.length ? s.internal.length * LINE + 4 : 0;
  const width = Math.max(MIN_WIDTH, titleWidth(s.key) + 2 * PAD, ...s.internal.map((l) => labelWidth(l) + 2 * PAD));
  return { top: 6 + TITLE_LINE + internal, width };
}

/**
 * How many transitions from the start each state is (entering a state enters
 * its initial child; a state's transitions are its children's too; a state
 * counts as the earliest state around it): what "forward" means when ELK
 * breaks the chart's cycles.
 */
function distances(chart: MachineChart, byId: Map<string, ChartState>, parents: Map<string, ChartState>): Map<string, number> {
  const out = new Map<string, number>();
  const queue: string[] = [];
  const reach = (id: string, d: number) => {
    if (out.has(id)) return;
    out.set(id, d);
    queue.push(id);
    for (let p = parents.get(id); p && !out.has(p.id); p = parents.get(p.id)) out.set(p.id, d);
  };
  reach(chart.root.id, 0);
  while (queue.length) {
    const id = queue.shift()!;
    const d = out.get(id)!;
    const s = byId.get(id)!;
    if (s.initial) reach(s.initial, d);
    if (s.type === 'parallel') for (const c of s.children) reach(c.id, d);
    const from = new Set([id]);
    for (let p = parents.get(id); p; p = parents.get(p.id)) from.add(p.id);
    for (const t of chart.transitions) if (from.has(t.source)) reach(t.target, d + 1);
  }
  const nearest = new Map<string, number>();
  for (const [id, d] of out) {
    let best = d;
    for (let p = parents.get(id); p && p !== chart.root; p = parents.get(p.id)) best = Math.min(best, out.get(p.id) ?? Infinity);
    nearest.set(id, best);
  }
  return nearest;
}

/** ELK's ids: a prefix per kind, so no state id can collide with an arrow's. */
const elkId = { state: (id: string) => `s:${id}`, dot: (id: string) => `i:${id}`, dotEdge: (id: string) => `ie:${id}`, arrow: (n: number) => `a:${n}` };

interface Arrow {
  id: string;
  source: string;
  target: string;
  transitions: MachineChart['transitions'];
}

interface Built {
  graph: ElkNode;
  states: Array<{ state: ChartState; parent?: ChartState; depth: number; markers: boolean }>;
  arrows: Arrow[];
}

function build(chart: MachineChart): Built {
  const states: Built['states'] = [];
  const byId = new Map<string, ChartState>();
  const parents = new Map<string, ChartState>();
  const elkNodes = new Map<string, ElkNode>();
  const node = (s: ChartState, parent: ChartState | undefined, depth: number): ElkNode => {
    // Connections show as markers in the states topState() names: top-level ones and a top-level group's children.
    const markers = s.type !== 'history' && !s.group && (depth === 1 || (depth === 2 && parent!.group));
    states.push({ state: s, ...(parent ? { parent } : {}), depth, markers });
    byId.set(s.id, s);
    if (parent) parents.set(s.id, parent);
    const head = header(s);
    const strip = markers ? MARKS : 0;
    let n: ElkNode;
    if (s.type === 'history') n = { id: elkId.state(s.id), width: 28, height: 28 };
    else if (!isCompound(s)) n = { id: elkId.state(s.id), width: head.width, height: head.top + strip + 8 };
    else {
      const children = s.children.map((c) => node(c, s, depth + 1));
      const edges: ElkExtendedEdge[] = [];
      if (s.initial) {
        children.unshift({ id: elkId.dot(s.id), width: DOT, height: DOT });
        edges.push({ id: elkId.dotEdge(s.id), sources: [elkId.dot(s.id)], targets: [elkId.state(s.initial)] });
      }
      n = {
        id: elkId.state(s.id),
        layoutOptions: {
          ...OPTIONS,
          'elk.padding': `[top=${head.top + 6},left=12,bottom=${12 + strip},right=12]`,
          'elk.nodeSize.constraints': '[MINIMUM_SIZE]',
          'elk.nodeSize.minimum': `(${head.width}, ${head.top + strip + 20})`,
        },
        children,
        edges,
      };
    }
    elkNodes.set(s.id, n);
    return n;
  };
  const root = node(chart.root, undefined, 0);

  const arrows: Arrow[] = [];
  const byEnds = new Map<string, Arrow>();
  for (const t of chart.transitions) {
    const key = JSON.stringify([t.source, t.target]);
    let a = byEnds.get(key);
    if (!a) byEnds.set(key, (a = { id: `a${arrows.length}`, source: t.source, target: t.target, transitions: [] })), arrows.push(a);
    a.transitions.push(t);
  }
  const ancestors = (id: string) => {
    const out: string[] = [];
    for (let p = parents.get(id); p; p = parents.get(p.id)) out.push(p.id);
    return out;
  };
  const distance = distances(chart, byId, parents);
  const far = Math.max(0, ...[...distance.values()].filter(Number.isFinite));
  arrows.forEach((a, n) => {
    // ELK wants an edge in the node that holds both ends: their lowest common ancestor, the
    // source itself for an arrow into one of its own descendants, the parent for a self-loop.
    const up = ancestors(a.target);
    let container = a.source === a.target ? a.source : up.includes(a.source) ? a.source : [a.source, ...ancestors(a.source)].find((x) => x === a.target || up.includes(x));
    if (container === a.target) container = parents.get(a.target)?.id ?? a.target;
    const lines = a.transitions.map((t) => t.label);
    const from = distance.get(a.source) ?? Infinity;
    const forward = (distance.get(a.target) ?? Infinity) > from;
    (elkNodes.get(container ?? chart.root.id)!.edges ??= []).push({
      id: elkId.arrow(n),
      sources: [elkId.state(a.source)],
      targets: [elkId.state(a.target)],
      // Arrows away from the start point the layout's way, the nearer the start the more (ELK's
      // cycle breaking adds these up per state): cycles are broken on the arrows back.
      ...(forward ? { layoutOptions: { 'elk.layered.priority.direction': String(10 * (far + 1 - from)) } } : {}),
      labels: [{ id: `l:${n}`, text: lines.join('\n'), width: Math.max(...lines.map(labelWidth)) + 2 * LABEL_PAD, height: lines.length * LINE }],
    });
  });
  const graph: ElkNode = { id: 'graph', layoutOptions: { ...OPTIONS, 'elk.padding': '[top=4,left=4,bottom=4,right=4]' }, children: [root] };
  return { graph, states, arrows };
}

type ElkModule = { default: new () => { layout(g: ElkNode): Promise<ElkNode> } };

/** Lay out a chart (not cached: see `layoutMachine`). */
export async function layoutChart(chart: MachineChart): Promise<MachineLayout> {
  const { graph, states, arrows } = build(chart);
  // Loaded on first use: ELK is 1.6 MB of JavaScript that only a served visualizer needs.
  const { default: ELK } = (await import('elkjs/lib/elk.bundled.js')) as unknown as ElkModule;
  const laid = await new ELK().layout(graph);
  const boxes = new Map<string, Box>();
  const edges = new Map<string, ElkExtendedEdge>();
  const walk = (n: ElkNode) => {
    boxes.set(n.id, { x: n.x ?? 0, y: n.y ?? 0, width: n.width ?? 0, height: n.height ?? 0 });
    for (const e of n.edges ?? []) edges.set(e.id, e);
    for (const c of n.children ?? []) walk(c);
  };
  walk(laid);
  const route = (id: string): Point[] => (edges.get(id)?.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
  const out: MachineLayout = { machine: chart.id, width: laid.width ?? 0, height: laid.height ?? 0, fonts: FONTS, states: [], arrows: [], initials: [] };
  for (const { state, parent, depth, markers } of states) {
    const b = boxes.get(elkId.state(state.id))!;
    const w = titleWidth(state.key);
    // Centred in a simple state, at the top left of a compound one (its children fill the rest).
    const title: TextBox =
      state.type === 'history'
        ? { text: 'H', x: b.x, y: b.y + 4, width: b.width, height: TITLE_LINE }
        : { text: state.key, x: isCompound(state) ? b.x + PAD : b.x + (b.width - w) / 2, y: b.y + 6, width: w, height: TITLE_LINE };
    out.states.push({
      id: state.id,
      key: state.key,
      type: state.type,
      group: state.group,
      ...(parent ? { parent: parent.id } : {}),
      depth,
      ...b,
      title,
      internal: state.internal.map((text, i) => ({ text, x: b.x + PAD, y: b.y + 6 + TITLE_LINE + 2 + i * LINE, width: labelWidth(text), height: LINE })),
      ...(markers ? { markers: { x: b.x + 6, y: b.y + b.height - MARKS - 4, width: b.width - 12, height: MARKS } } : {}),
    });
    if (state.initial) out.initials.push({ state: state.id, target: state.initial, dot: boxes.get(elkId.dot(state.id))!, points: route(elkId.dotEdge(state.id)) });
  }
  arrows.forEach((a, n) => {
    const l = edges.get(elkId.arrow(n))!.labels![0]!;
    const lines = a.transitions.map((t) => t.label);
    out.arrows.push({
      id: a.id,
      source: a.source,
      target: a.target,
      transitions: a.transitions.map((t) => t.id),
      points: route(elkId.arrow(n)),
      label: { text: lines.join('\n'), lines, x: l.x ?? 0, y: l.y ?? 0, width: l.width ?? 0, height: l.height ?? 0 },
    });
  });
  return out;
}

const cache = new WeakMap<AnyStateMachine, Promise<MachineLayout>>();

/** The layout of `machine`'s statechart, computed on the first call and shared by later ones. */
export function layoutMachine(machine: AnyStateMachine): Promise<MachineLayout> {
  let layout = cache.get(machine);
  if (!layout) {
    layout = layoutChart(machineChart(machine));
    // A failed layout is not kept: the next call tries again.
    layout.catch(() => cache.delete(machine));
    cache.set(machine, layout);
  }
  return layout;
}
