/**
 * Scenario "fuzz-api": wrong arguments into every exported factory and
 * constructor (and the methods a user calls most), one argument or one
 * option at a time, then seeded combinations: wrong types, NaN, negative,
 * ±Infinity, huge numbers and strings, null, {}, symbols, BigInt, functions,
 * prototype-key ids.
 *
 * Each call runs with a timeout. What it may do: return (then its result is
 * checked where a result can be wrong, and closed), or throw/reject a
 * TypeError, a RangeError or a `StatewireError`. Anything else is counted:
 * another error ("untyped"), a hang, a crash (an uncaught exception or an
 * unhandled rejection while it ran), a process warning (Node's
 * TimeoutOverflowWarning: a duration past 2^31-1 ms is run after 1 ms), a
 * bad result (NaN from `backoffDelay`), and a server listening on something
 * other than loopback. A failed listen is a `ListenError` (`ERR_LISTEN`), a
 * StatewireError: typed, as documented. Then the delays the library computes
 * at the bounds of what it accepts (bench/chaos/fuzz-timers.ts) must stay
 * timers Node can run.
 *
 * The runner starts this scenario in a network namespace of its own
 * (`unshare -n`, loopback only) when it can (env CHAOS_NETNS=1): a fuzzed
 * `host` may make a server listen on every interface, and there that is
 * harmless, and a host name looked up in DNS fails at once. Without it,
 * `host` is not fuzzed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatewireError, createSupervisor } from '../../actors/index.js';
import { mockTransport } from '../../transports/mock/index.js';
import { EdgeAgentServer } from '../../transports/unix/index.js';
import { BAD, DEFECTS, QUICK, setPath, targets, type Bad, type Target } from './fuzz-api-targets.js';
import { timerBounds } from './fuzz-timers.js';
import {
  CrashCounter,
  MemoryPeak,
  describe,
  invariant,
  leakedSince,
  pick,
  random,
  resources,
  subSeed,
  tally,
  within,
  type ScenarioOptions,
  type ScenarioResult,
} from './lib.js';

interface Tally {
  calls: number;
  outcomes: Record<string, number>;
  /** What went wrong, by kind: "untyped", "hang", "crash", "warning", "insane". */
  bad: Array<{ kind: string; target: string; path: string; value: string; what: string }>;
}

export async function run({ seed, quick }: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const before = resources();
  const crashes = new CrashCounter();
  const peak = new MemoryPeak();
  const isolated = process.env.CHAOS_NETNS === '1';
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message.split('\n')[0]}`);
  process.on('warning', onWarning);
  const dir = mkdtempSync(join(tmpdir(), 'swa-'));
  const agentPath = join(dir, 'agent.sock');
  const agent = new EdgeAgentServer({ path: agentPath });
  await agent.listen();
  const rand = random(subSeed(seed, 'fuzz-api'));
  const values = quick ? BAD.filter((b) => QUICK.includes(b.label)) : BAD;
  const t: Tally = { calls: 0, outcomes: {}, bad: [] };
  const list = targets(dir, agentPath, isolated);

  async function one(target: Target, path: string, mutations: Array<[string, Bad]>) {
    t.calls++;
    const args = await target.args();
    for (const [p, bad] of mutations) setPath(args, p, bad.value());
    const label = mutations.map(([p, b]) => `${p}=${b.label}`).join(' ');
    const crashesBefore = crashes.count;
    const warningsBefore = warnings.length;
    const record = (kind: string, what: string) => t.bad.push({ kind, target: target.name, path, value: label, what });
    let outcome: string;
    try {
      const ms = quick ? 1000 : (target.timeoutMs ?? 1500);
      const result = await within(Promise.resolve().then(() => target.call(args)), ms);
      if (result === 'timeout') {
        outcome = 'hang';
        record('hang', `no answer within ${ms} ms`);
      } else {
        outcome = 'returned';
        const insane = target.insane?.(result);
        if (insane) record('insane', insane);
        if (target.cleanup) await within(Promise.resolve().then(() => target.cleanup!(result)).catch(() => {}), 3000);
      }
    } catch (e) {
      if (e instanceof TypeError || e instanceof RangeError) outcome = e.name;
      else if (e instanceof StatewireError) outcome = `StatewireError ${e.code}`;
      else {
        outcome = 'untyped';
        record('untyped', describe(e));
      }
    }
    if (target.after) await within(Promise.resolve().then(() => target.after!(args)).catch(() => {}), 5000);
    // Timers XState and Node use to report errors and warnings fire on the next turns.
    await new Promise((r) => setTimeout(r, 1));
    if (crashes.count > crashesBefore) record('crash', crashes.errors.slice(crashesBefore).join('; '));
    if (warnings.length > warningsBefore) record('warning', [...new Set(warnings.slice(warningsBefore))].join('; '));
    tally(t.outcomes, outcome);
  }

  const deadline = Date.now() + (quick ? 8000 : 30_000);
  let stoppedEarly: string | undefined;
  outer: for (const target of list) {
    for (const path of target.paths) {
      for (const bad of values) {
        if (Date.now() > deadline) {
          stoppedEarly = `time budget reached at ${target.name}`;
          break outer;
        }
        if (target.skip?.(path, bad)) continue;
        await one(target, path, [[path, bad]]);
      }
    }
  }
  // Child ids that are names on Object.prototype are ids like any other: nothing may be found
  // under them before a child has them, and a child may have them.
  for (const id of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
    t.calls++;
    const sup = createSupervisor({ id: 'probe' });
    const record = (what: string) => t.bad.push({ kind: 'insane', target: 'supervisor child ids', path: 'id', value: JSON.stringify(id), what });
    try {
      const found = sup.child(id);
      if (found !== undefined) record(`child(${JSON.stringify(id)}) on an empty supervisor returned ${typeof found}`);
      sup.startChild({ id, transport: mockTransport() });
      tally(t.outcomes, 'returned');
    } catch (e) {
      record(`startChild({ id: ${JSON.stringify(id)} }) on an empty supervisor threw ${describe(e)}`);
      tally(t.outcomes, e instanceof StatewireError ? `StatewireError ${e.code}` : (e as Error).name);
    }
    await sup.shutdown();
  }

  // Delays computed at the bounds: within 2^31-1 ms, or refused.
  const timers = await timerBounds();
  t.calls += timers.calls;
  for (const o of timers.outcomes) tally(t.outcomes, o);
  for (const f of timers.findings) t.bad.push({ kind: 'overflow', ...f });

  // Seeded combinations: two or three wrong options at once.
  const combos = quick ? 30 : 600;
  for (let i = 0; i < combos && !stoppedEarly && Date.now() < deadline; i++) {
    const target = pick(rand, list);
    const n = Math.min(target.paths.length, 2 + Math.floor(rand() * 2));
    const mutations: Array<[string, Bad]> = [];
    for (let k = 0; k < n; k++) {
      const path = pick(rand, target.paths);
      const bad = pick(rand, values);
      if (!target.skip?.(path, bad)) mutations.push([path, bad]);
    }
    if (mutations.length) await one(target, mutations.map(([p]) => p).join('+'), mutations);
  }

  await agent.close();
  rmSync(dir, { recursive: true, force: true });
  process.off('warning', onWarning);
  const mem = peak.stop();
  const leaked = await leakedSince(before, 1500);
  crashes.stop();

  const byKind = (kind: string) => t.bad.filter((b) => b.kind === kind);
  const show = (kind: string, max = 6) => {
    const seen = new Map<string, string>();
    for (const b of byKind(kind)) {
      const key = `${b.target} ${b.path.split('+')[0]}: ${b.what.replace(/\d{3,}/g, 'N')}`;
      if (!seen.has(key)) seen.set(key, `${b.target}(${b.value}): ${b.what}`);
    }
    return [...seen.values()].slice(0, max);
  };
  const findings: string[] = [];
  for (const kind of ['untyped', 'hang', 'crash', 'warning', 'insane', 'overflow']) {
    const n = byKind(kind).length;
    if (n) findings.push(`${n} ${kind}: ${show(kind).join(' | ')}`);
  }
  const counts = Object.fromEntries(['untyped', 'hang', 'crash', 'warning', 'insane', 'overflow'].map((k) => [k, byKind(k).length]));
  /** The defect each kind of failure is, when every one of them is explained (else undefined: broken). */
  const explained = (kind: string): string | undefined => {
    const labels = new Set<string>();
    for (const b of byKind(kind)) {
      const d = DEFECTS.find((x) => x.match(b));
      if (!d) return undefined;
      labels.add(d.label);
    }
    return labels.size ? [...labels].join('; ') : undefined;
  };
  return {
    scenario: 'fuzz-api',
    seed,
    quick,
    durationMs: Date.now() - started,
    summary: `fuzz-api: ${t.calls} calls into ${list.length} functions; untyped ${counts.untyped}, hangs ${counts.hang}, crashes ${counts.crash}, warnings ${counts.warning}, bad results ${counts.insane}, delay overflows ${counts.overflow}; leaked ${leaked.length}${isolated ? '' : ' (serveVisualizer host not fuzzed: no network namespace)'}`,
    rows: [{ part: 'exported factories and constructors', sent: t.calls, received: t.calls - counts.hang!, duplicates: 0, lost: counts.hang!, crashes: counts.crash!, leakedHandles: leaked.length, peakRssMb: mem.rssMb, peakHeapMb: mem.heapMb }],
    invariants: [
      invariant('only TypeError, RangeError or a StatewireError', counts.untyped === 0, show('untyped', 3).join(' | ') || '0 untyped', explained('untyped')),
      invariant('no hang', counts.hang === 0, show('hang', 3).join(' | ') || '0 hangs', explained('hang')),
      invariant('no crash', counts.crash === 0, show('crash', 3).join(' | ') || '0 crashes', explained('crash')),
      invariant('no handle left', leaked.length === 0, leaked.join(', ') || 'none'),
      invariant('no timer overflow or other process warning', counts.warning === 0, show('warning', 3).join(' | ') || '0 warnings', explained('warning')),
      invariant('results make sense (finite delays, loopback servers, prototype-named ids)', counts.insane === 0, show('insane', 3).join(' | ') || '0', explained('insane')),
      invariant('computed delays stay within 2^31-1 ms (restartBackoff, jitter past the cap)', counts.overflow === 0, show('overflow', 3).join(' | ') || `${timers.calls} probes held`, explained('overflow')),
    ],
    figures: { calls: t.calls, outcomes: JSON.stringify(t.outcomes), 'network namespace': isolated ? 'yes (unshare -n)' : 'no', ...(stoppedEarly ? { 'stopped early': stoppedEarly } : {}) },
    findings,
  };
}
