/**
 * Scenario "supervisor": restart storms. A child whose actor crashes on every
 * start (an action of its machine throws as soon as it is connected) lives
 * among healthy siblings under `one_for_one`, on XState's SimulatedClock.
 * Restarts wait their backoff (`restartBackoff`, here without jitter: 100 ms
 * doubling to 10 s), and the scenario moves the clock by exactly that much.
 *
 * - Backoff: the n-th restart's child does not connect 1 ms before its
 *   `backoffDelay(n)`, and connects at it.
 * - Siblings: until the intensity is reached, every crash restarts the
 *   crasher alone; each sibling keeps its actor, its one link and a restart
 *   count of 0.
 * - Escalation: with `maxRestarts` R, crash R+1 (not one earlier) ends the
 *   supervisor in `failed` with a report naming the crasher, and every
 *   sibling's link is closed.
 * - Memory: 10,000 restarts at the backoff's pace (at most 12 in any simulated
 *   minute, under the intensity, so the supervisor never gives up); heap after
 *   GC at the end is within 5 % of the heap after the first 20 % (which warm
 *   up JIT code and caches).
 *
 * Each start of the crasher is gated (its connect waits for the scenario),
 * so every restart is one step: the clock moves past the restart's delay,
 * the gate opens, the child connects, crashes, and is restarted.
 */
import { SimulatedClock } from 'xstate';
import {
  LinkClosedError,
  backoffDelay,
  connectionMachine,
  createSupervisor,
  silentLogger,
  type Link,
  type Supervisor,
  type Transport,
} from '../../actors/index.js';
import { mockTransport, type MockTransport } from '../../transports/mock/index.js';
import {
  CrashCounter,
  MemoryPeak,
  heapAfterGc,
  invariant,
  leakedSince,
  mb,
  resources,
  within,
  type Invariant,
  type ScenarioOptions,
  type ScenarioResult,
} from './lib.js';

/** A machine whose actor throws on entering `connected`: it crashes on every start. */
const crasher = connectionMachine.provide({
  actions: {
    flushOutbox: () => {
      throw new Error('chaos: crash on start');
    },
  },
});

/** A transport whose connects wait until `open()`: one restart per call. */
function gated() {
  const inner = mockTransport({ kind: 'crashy' });
  const waiting: Array<() => void> = [];
  let arrived: (() => void) | undefined;
  const transport: Transport = {
    kind: 'crashy',
    connect(options) {
      return new Promise<Link>((resolve, reject) => {
        const onAbort = () => reject(new LinkClosedError('connect aborted', { canceled: true }));
        options.signal.addEventListener('abort', onAbort, { once: true });
        waiting.push(() => {
          options.signal.removeEventListener('abort', onAbort);
          inner.connect(options).then(resolve, reject);
        });
        arrived?.();
      });
    },
  };
  return {
    transport,
    inner,
    /** Connects waiting for `open()`. */
    pending: () => waiting.length,
    /** Wait (up to 2 s) until the crasher is connecting, then let it connect. Resolves false when it never came. */
    async open(): Promise<boolean> {
      if (waiting.length === 0) {
        const came = await within(new Promise<void>((r) => (arrived = r)), 2000);
        arrived = undefined;
        if (came === 'timeout') return false;
      }
      waiting.shift()!();
      return true;
    },
  };
}

async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** Wait (a few turns at most) until the crasher was restarted `n` times: its next delay is then on the clock. */
async function restarted(sup: Supervisor, n: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if ((sup.whichChildren().find((c) => c.id === 'crasher')?.restarts ?? 0) >= n) return true;
    await new Promise((r) => setImmediate(r));
  }
  return false;
}

function startSiblings(sup: Supervisor, ids: string[]): Record<string, MockTransport> {
  const mocks: Record<string, MockTransport> = {};
  for (const id of ids) sup.startChild({ id, transport: (mocks[id] = mockTransport()) });
  return mocks;
}

/** Every sibling still on its first actor and link, connected, never restarted. */
function siblingsIntact(sup: Supervisor, mocks: Record<string, MockTransport>, refs: Record<string, unknown>): string | undefined {
  for (const id of Object.keys(mocks)) {
    const info = sup.whichChildren().find((c) => c.id === id);
    if (!info) return `${id} is gone`;
    if (info.state !== 'connected') return `${id} is ${info.state}`;
    if (info.restarts !== 0) return `${id} was restarted ${info.restarts} times`;
    if (sup.child(id) !== refs[id]) return `${id} has a new actor`;
    if (mocks[id]!.opened !== 1 || mocks[id]!.openLinks !== 1) return `${id} opened ${mocks[id]!.opened} links, ${mocks[id]!.openLinks} open`;
  }
  return undefined;
}

/** Restart delays without jitter, so the scenario knows each one: 100 ms doubling to 10 s (the default's numbers). */
const BACKOFF = { jitter: 0 } as const;
const delayOf = (restart: number) => backoffDelay(restart, BACKOFF);

/**
 * Move the clock to the `restart`-th restart's due time: 1 ms short of it
 * first, when the restarted child must still wait. False when it connected early.
 */
async function throughBackoff(clock: SimulatedClock, gate: ReturnType<typeof gated>, restart: number): Promise<boolean> {
  const delay = delayOf(restart);
  clock.increment(delay - 1);
  await settle();
  const early = gate.pending() > 0;
  clock.increment(1);
  return !early;
}

/** Siblings and escalation: R restarts leave the siblings alone, crash R+1 fails the supervisor. */
async function escalation(maxRestarts: number): Promise<{ invariants: Invariant[]; figures: Record<string, number | string> }> {
  const clock = new SimulatedClock();
  // Giving up is logged as an error by default: expected here.
  const sup = createSupervisor({ id: 'storm', strategy: 'one_for_one', maxRestarts, periodMs: 60_000, clock, restartBackoff: BACKOFF, logger: silentLogger });
  const mocks = startSiblings(sup, ['s1', 's2']);
  const gate = gated();
  sup.startChild({ id: 'crasher', transport: gate.transport, machine: crasher });
  Object.assign(mocks, startSiblings(sup, ['s3', 's4']));
  await settle();
  const refs = Object.fromEntries(Object.keys(mocks).map((id) => [id, sup.child(id)]));
  let harmed: string | undefined;
  let failedEarly = 0;
  let crashes = 0;
  const early: number[] = [];
  // Crash i is the start after restart i-1 (the first start is not delayed).
  for (let i = 1; i <= maxRestarts + 1; i++) {
    if (i > 1 && !(await throughBackoff(clock, gate, i - 1))) early.push(i - 1);
    if (!(await gate.open())) break;
    await settle();
    crashes++;
    if (i <= maxRestarts) {
      if (sup.actor.getSnapshot().status !== 'active') failedEarly = i;
      harmed ??= siblingsIntact(sup, mocks, refs);
    }
  }
  const report = sup.report;
  const linksLeft = Object.values(mocks).reduce((s, m) => s + m.openLinks, 0);
  const status = sup.actor.getSnapshot().status;
  await sup.shutdown();
  const delays = Array.from({ length: maxRestarts }, (_, k) => delayOf(k + 1));
  return {
    invariants: [
      invariant(
        'restarts wait their backoff (100 ms doubling)',
        early.length === 0 && crashes === maxRestarts + 1,
        early.length ? `restarts ${early.join(', ')} connected before their delay` : `${crashes - 1} restarts, each connected at its delay (${delays.join(', ')} ms), none before`,
      ),
      invariant('one_for_one: the crasher alone restarts until the intensity', harmed === undefined && failedEarly === 0, harmed ?? (failedEarly ? `supervisor gave up after crash ${failedEarly}` : `${maxRestarts} restarts, siblings untouched`)),
      invariant(
        'escalation at the configured count',
        status === 'done' && report?.restarts === maxRestarts && report.offender.id === 'crasher' && report.offender.exit === 'crashed',
        report ? `failed after crash ${crashes}: restarts ${report.restarts}, offender ${report.offender.id} (${report.offender.exit})` : `not failed after ${crashes} crashes (status ${status})`,
      ),
      invariant('escalation closes every sibling link', linksLeft === 0, `${linksLeft} sibling links open`),
    ],
    figures: { 'maxRestarts (escalation part)': maxRestarts, 'crashes until failed': crashes, 'restart delays, ms (simulated)': delays.join(', ') },
  };
}

/** Many restarts: heap after GC stays flat. */
async function storm(restarts: number): Promise<{ invariants: Invariant[]; figures: Record<string, number | string>; done: number }> {
  const clock = new SimulatedClock();
  // At the backoff's pace (capped at 10 s) at most 12 restarts fall in any minute: under 20, never given up.
  const sup = createSupervisor({ id: 'storm-memory', maxRestarts: 20, periodMs: 60_000, clock, restartBackoff: BACKOFF, logger: silentLogger });
  const mocks = startSiblings(sup, ['s1', 's2', 's3']);
  const gate = gated();
  sup.startChild({ id: 'crasher', transport: gate.transport, machine: crasher });
  await settle();
  const refs = Object.fromEntries(Object.keys(mocks).map((id) => [id, sup.child(id)]));
  // The first 20 % warm up (JIT code, XState's caches): the baseline is taken after them.
  const every = Math.round(restarts / 10);
  const warmAt = every * 2;
  const curve: number[] = [];
  let warm = 0;
  let done = 0;
  let simulatedMs = 0;
  // The first start, then one start per restart, each after its delay.
  if (!(await gate.open())) return stormResult(restarts, sup, mocks, refs, 0, 0, 0, [], 0, warmAt);
  for (let i = 1; i <= restarts; i++) {
    // The start before crashed and restart i is scheduled: move the clock through its delay.
    if (!(await restarted(sup, i))) break;
    simulatedMs += delayOf(i);
    clock.increment(delayOf(i));
    if (!(await gate.open())) break;
    done = i;
    if (i % every === 0) {
      await settle();
      const heap = await heapAfterGc();
      curve.push(mb(heap));
      if (i === warmAt) warm = heap;
    }
  }
  await settle();
  const end = await heapAfterGc();
  return stormResult(restarts, sup, mocks, refs, done, warm, end, curve, simulatedMs, warmAt);
}

async function stormResult(
  restarts: number,
  sup: Supervisor,
  mocks: Record<string, MockTransport>,
  refs: Record<string, unknown>,
  done: number,
  warm: number,
  end: number,
  curve: number[],
  simulatedMs: number,
  warmAt: number,
): Promise<{ invariants: Invariant[]; figures: Record<string, number | string>; done: number }> {
  const harmed = siblingsIntact(sup, mocks, refs);
  const restartsSeen = sup.whichChildren().find((c) => c.id === 'crasher')?.restarts ?? -1;
  const running = sup.actor.getSnapshot().status === 'active';
  await sup.shutdown();
  const growth = warm ? (end - warm) / warm : NaN;
  return {
    done,
    invariants: [
      invariant(`${restarts} restarts done, supervisor running`, done === restarts && running && restartsSeen >= restarts, `${done} gated starts, crasher restarts ${restartsSeen}, supervisor ${running ? 'running' : 'stopped'}`),
      invariant('siblings untouched by the storm', harmed === undefined, harmed ?? 'untouched'),
      invariant('heap after GC flat (within 5 %)', Math.abs(growth) <= 0.05, `${mb(warm)} MB after ${warmAt} restarts, ${mb(end)} MB after ${done} (${(growth * 100).toFixed(1)} %)`),
    ],
    figures: {
      'storm restarts': done,
      'storm simulated time, h': Math.round((simulatedMs / 3_600_000) * 10) / 10,
      'heap after GC, MB, every 10 %': curve.join(' → '),
      'heap growth over the storm': `${(growth * 100).toFixed(2)} %`,
    },
  };
}

export async function run({ seed, quick }: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const before = resources();
  const crashes = new CrashCounter();
  const peak = new MemoryPeak();
  const restarts = quick ? 3000 : 10_000;
  const a = await escalation(5);
  const b = await storm(restarts);
  const mem = peak.stop();
  const leaked = await leakedSince(before);
  crashes.stop();
  const invariants = [
    ...a.invariants,
    ...b.invariants,
    invariant('no crash of the process', crashes.count === 0, crashes.errors.slice(0, 3).join('; ') || '0'),
    invariant('no handle left after shutdown', leaked.length === 0, leaked.join(', ') || 'none'),
  ];
  return {
    scenario: 'supervisor',
    seed,
    quick,
    durationMs: Date.now() - started,
    summary: `supervisor: ${b.done} crash-restarts among 3 siblings, heap ${b.figures['heap growth over the storm']}; escalation after ${a.figures['crashes until failed']} crashes (maxRestarts 5); ${invariants.filter((i) => !i.ok).length} invariants broken; crashes ${crashes.count}; leaked ${leaked.length}`,
    rows: [
      // "sent" = child starts that crashed, "received" = restarts the supervisor made.
      { part: 'crash-on-start child, one_for_one', sent: b.done, received: b.done, duplicates: 0, lost: 0, crashes: crashes.count, leakedHandles: leaked.length, peakRssMb: mem.rssMb, peakHeapMb: mem.heapMb },
    ],
    invariants,
    figures: { ...a.figures, ...b.figures },
    findings: [],
  };
}
