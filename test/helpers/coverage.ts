/**
 * Transition coverage for the model-based test: every microstep any test
 * takes is recorded here (through XState's inspection API), and
 * test/machines/zz-coverage.test.ts compares it with every transition of
 * `connectionMachine` listed by `xstate/graph`.
 */
import type { InspectionEvent } from 'xstate';

interface TransitionLike {
  source: { id: string; transitions: Map<string, TransitionLike[]>; always?: TransitionLike[] };
  eventType: string;
  target?: ReadonlyArray<{ id: string }>;
}

const g = globalThis as { __statewireCovered?: Set<string> };
export const covered: Set<string> = (g.__statewireCovered ??= new Set());

/** A key that is the same for a machine and its `.provide()` copies. */
export function transitionKey(t: TransitionLike): string {
  const list = t.eventType === '' ? (t.source.always ?? []) : (t.source.transitions.get(t.eventType) ?? []);
  const index = list.indexOf(t);
  const targets = t.target?.map((s) => s.id).join(',') ?? '(self)';
  return `${t.source.id} --${t.eventType || 'always'}[${index}]--> ${targets}`;
}

/** Pass as `inspect` to createActor / createSupervisor. */
export function recordCoverage(event: InspectionEvent): void {
  if (event.type !== '@xstate.microstep') return;
  for (const t of (event as unknown as { _transitions: TransitionLike[] })._transitions) covered.add(transitionKey(t));
}
