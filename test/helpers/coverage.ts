/**
 * Transition coverage for the model-based test: every microstep any test
 * takes is recorded here (through XState's inspection API), and
 * test/machines/zz-coverage.test.ts compares it with every transition of
 * `connectionMachine` listed by `xstate/graph`.
 *
 * A transition of a grouping state (`active`, `meta: { group: true }`) is
 * counted once per child it can be taken in (DISCONNECT from connecting,
 * from connected, from tx_dropped), as when each child declared it: moving
 * shared transitions up must not make the check weaker.
 */
import type { InspectionEvent } from 'xstate';

interface NodeLike {
  id: string;
  key: string;
  parent?: NodeLike;
  meta?: { group?: unknown };
  states: Record<string, NodeLike>;
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
}

interface TransitionLike {
  source: NodeLike;
  eventType: string;
  target?: ReadonlyArray<{ id: string }>;
}

const g = globalThis as { __statewireCovered?: Set<string> };
export const covered: Set<string> = (g.__statewireCovered ??= new Set());

const isGroup = (node: NodeLike) => node.meta?.group === true;

/** A key that is the same for a machine and its `.provide()` copies; `within`: the group's child it was taken in. */
export function transitionKey(t: TransitionLike, within?: NodeLike): string {
  const list = t.eventType === '' ? (t.source.always ?? []) : (t.source.transitions.get(t.eventType) ?? []);
  const index = list.indexOf(t);
  const targets = t.target?.map((s) => s.id).join(',') ?? '(self)';
  const source = within ? `${t.source.id} (in ${within.key})` : t.source.id;
  return `${source} --${t.eventType || 'always'}[${index}]--> ${targets}`;
}

/**
 * Every key a transition stands for: one, or for a group's transition one per
 * child that does not handle the event itself (a child's own handler is
 * tried first; connected's LINK_FAILED shadows active's).
 */
export function transitionKeys(t: TransitionLike): string[] {
  if (!isGroup(t.source)) return [transitionKey(t)];
  const handles = (c: NodeLike) => (t.eventType === '' ? (c.always?.length ?? 0) > 0 : c.transitions.has(t.eventType));
  return Object.values(t.source.states)
    .filter((c) => !handles(c))
    .map((c) => transitionKey(t, c));
}

// Each actor's snapshot after its last microstep: what a group's transition was taken from.
const last = new WeakMap<object, { _nodes?: NodeLike[] }>();

/** Pass as `inspect` to createActor / createSupervisor. */
export function recordCoverage(event: InspectionEvent): void {
  if (event.type !== '@xstate.microstep') return;
  const before = last.get(event.actorRef);
  for (const t of (event as unknown as { _transitions: TransitionLike[] })._transitions) {
    if (!isGroup(t.source)) {
      covered.add(transitionKey(t));
      continue;
    }
    const within = before?._nodes?.find((n) => n.parent === t.source);
    if (within) covered.add(transitionKey(t, within));
  }
  last.set(event.actorRef, event.snapshot as { _nodes?: NodeLike[] });
}
