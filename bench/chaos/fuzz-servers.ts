/**
 * Scenario "fuzz-servers": bad input into every server we run, each in a
 * process of its own (bench/chaos/fuzz-target.ts) so a crash is counted, the
 * server started again, and the fuzzing goes on:
 *
 * - the UNIX edge agent (`EdgeAgentServer`): one line per frame;
 * - the TaskLogHub: frames from a viewer (viewers are not expected to send
 *   anything: a frame is ignored, or the socket is closed with a code; one
 *   over the hub's `maxPayload`, 4096 bytes by default, with 1009);
 * - the visualizer's `/events` WebSocket (commands `{ action, id }`; anything
 *   else is answered `{ type: 'error', error }`, and a frame over its
 *   `maxPayload`, 16 KiB by default, closes the socket with 1009).
 *
 * After each frame the fuzzer sends a sentinel whose answer it knows (a frame
 * the agent nacks with a known id, a ping to the hub, a command the
 * visualizer refuses naming it), so what came before the
 * sentinel's answer is the frame's answer: accepted, refused with a reason
 * (nack, error reply), or closed (with the WebSocket close code). Nothing
 * before the sentinel, where an answer was due, is "silent". A crash is the
 * target process exiting. Memory is the target's heap after GC, before and
 * after, and its peaks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Target, agentClient, hubClient, vizClient, type Client, type Kind, type Mem } from './fuzz-clients.js';
import { frames, type Category, type Frame, type FrameSource } from './fuzz-frames.js';
import {
  CrashCounter,
  MemoryPeak,
  invariant,
  leakedSince,
  mb,
  random,
  resources,
  subSeed,
  tally,
  within,
  type Invariant,
  type Row,
  type ScenarioOptions,
  type ScenarioResult,
} from './lib.js';

const MiB = 2 ** 20;

/** What the visualizer page may ask (visualizer/server.ts); 'a' and 'b' are the target's children. */
const VIZ_ACTIONS = ['drop-link', 'tx-drop', 'disconnect', 'connect'];

const VALID_EVENT = (n: number) => `{"id":${n},"event_type":"FuzzEvent","severity":"low","timestamp":"2026-01-01T00:00:00Z","details":{"k":"v${n}"}}`;

const SOURCES: Record<Kind, FrameSource> = {
  agent: {
    limit: MiB, // the agent's default maxFrameBytes
    valid: (n) => VALID_EVENT(n + 1),
    prototype: (n) => [
      `{"__proto__":{"polluted":1},"id":${n + 1},"event_type":"FuzzEvent","severity":"low","details":{},"timestamp":"2026-01-01T00:00:00Z"}`,
      `{"id":${n + 1},"event_type":"FuzzEvent","severity":"low","details":{"__proto__":{"polluted":1}},"timestamp":"2026-01-01T00:00:00Z"}`,
      `{"id":${n + 1},"event_type":"FuzzEvent","severity":"low","details":{"constructor":{"prototype":{"polluted":1}}},"timestamp":"2026-01-01T00:00:00Z"}`,
      `{"id":${n + 1},"event_type":"constructor","severity":"__proto__","details":{},"timestamp":"2026-01-01T00:00:00Z"}`,
      `{"session":"__proto__"}`,
      `{"constructor":{"prototype":{"polluted":1}}}`,
      `{"id":${n + 1},"event_type":"FuzzEvent","severity":"toString","details":{},"timestamp":"2026-01-01T00:00:00Z"}`,
    ],
  },
  hub: {
    limit: 4096, // TaskLogHub's default maxPayload (attach(http))
    valid: (n) => JSON.stringify({ type: 'hello', n }),
    prototype: () => ['{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '{"type":"__proto__"}'],
  },
  viz: {
    limit: 16 * 1024, // serveVisualizer's default maxPayload
    valid: (n) => JSON.stringify({ action: ['connect', 'tx-drop', 'drop-link'][n % 3], id: n % 2 ? 'a' : 'b' }),
    prototype: () => [
      '{"action":"__proto__","id":"a"}',
      '{"action":"constructor","id":"a"}',
      '{"action":"toString","id":"b"}',
      '{"action":"hasOwnProperty","id":"a"}',
      '{"action":"connect","id":"__proto__"}',
      '{"action":"connect","id":"constructor"}',
      '{"__proto__":{"action":"connect","id":"a"}}',
      // Well-formed (own action and id) with an inert own "__proto__" key: accepted, and nothing polluted.
      '{"action":"connect","id":"a","__proto__":{"polluted":1}}',
    ],
    wellFormed: (bytes) => {
      try {
        const m = JSON.parse(bytes.toString()) as unknown;
        if (m === null || typeof m !== 'object' || Array.isArray(m)) return false;
        const own = (k: string) => (Object.hasOwn(m, k) ? (m as Record<string, unknown>)[k] : undefined);
        return VIZ_ACTIONS.includes(own('action') as string) && (own('id') === 'a' || own('id') === 'b');
      } catch {
        return false;
      }
    },
  },
};

/**
 * Categories whose frames must never be accepted (refused, closed, or (hub)
 * ignored), unless the source calls the frame well-formed. The visualizer
 * validates every command: any frame that is not one is refused.
 */
const NEVER_ACCEPTED: Record<Kind, Category[]> = {
  agent: ['invalid-utf8', 'oversize', 'json-values', 'random-bytes'],
  hub: [],
  viz: ['random-bytes', 'random-text', 'mutated', 'invalid-utf8', 'deep-nesting', 'oversize', 'prototype-keys', 'json-values'],
};

interface ServerReport {
  kind: Kind;
  frames: number;
  outcomes: Record<string, number>;
  /** outcome by category: "category outcome" -> n. */
  byCategory: Record<string, number>;
  crashes: Array<{ category: Category; frame: string; stderr: string }>;
  badAccepted: Record<string, number>;
  /** Outcomes of frames over the server's limit (`FrameSource.limit`). */
  overLimit: Record<string, number>;
  validRefused: number;
  silent: number;
  timeouts: number;
  healthFailures: number;
  memBefore?: Mem;
  memAfter?: Mem;
  /** Peaks over every reading of every target process (a crashed one gives none at its end). */
  peakRss: number;
  peakHeap: number;
  polluted: boolean;
  stoppedEarly: string | undefined;
}

async function fuzzOne(kind: Kind, seed: number, count: number, budgetMs: number, maxCrashes: number): Promise<ServerReport> {
  const dir = mkdtempSync(join(tmpdir(), 'swf-'));
  const rand = random(subSeed(seed, `fuzz-${kind}`));
  const report: ServerReport = { kind, frames: 0, outcomes: {}, byCategory: {}, crashes: [], badAccepted: {}, overLimit: {}, validRefused: 0, silent: 0, timeouts: 0, healthFailures: 0, polluted: false, stoppedEarly: undefined, peakRss: 0, peakHeap: 0 };
  const reading = async () => {
    const m = await target.mem();
    if (m) {
      report.peakRss = Math.max(report.peakRss, m.peakRss);
      report.peakHeap = Math.max(report.peakHeap, m.peakHeap);
    }
    return m;
  };
  let target = await Target.start(kind, dir);
  report.memBefore = await reading();
  let viewer = 0;
  const connect = (): Promise<Client> =>
    kind === 'agent' ? agentClient(target.ready.path!) : kind === 'hub' ? hubClient(target.ready.port!, `fuzz-${++viewer}`) : vizClient(target.ready.port!);
  let client = await connect();
  // The budget starts once the target serves and a client is in: starting a target (a tsx
  // process; the visualizer's first layout) takes seconds on a loaded machine.
  const deadline = Date.now() + budgetMs;
  let k = 0;
  // A crash reported on a timer (an RxJS subscriber's error) shows on the frame after the one that
  // caused it: a crash names both.
  let previous: Frame | undefined;
  for (const frame of frames(rand, count, SOURCES[kind], { noNewline: kind === 'agent' })) {
    if (Date.now() > deadline) {
      report.stoppedEarly = `time budget reached after ${report.frames} of ${count} frames`;
      break;
    }
    k++;
    report.frames++;
    let outcome = await client.probe(frame, k);
    if (target.exited || (outcome !== 'accepted' && outcome !== 'refused' && outcome !== 'ignored' && (await within(target.exit, 50)) !== 'timeout')) {
      outcome = 'crash';
      const show = (f: Frame) => JSON.stringify(f.bytes.subarray(0, 60).toString());
      report.crashes.push({
        category: frame.category,
        frame: previous ? `${show(frame)} (or the one before, ${show(previous)})` : show(frame),
        stderr: target.stderr.split('\n').filter((l) => /Error|at /.test(l)).slice(0, 3).join(' | '),
      });
    }
    previous = frame;
    tally(report.outcomes, outcome);
    tally(report.byCategory, `${frame.category}: ${outcome}`);
    if (frame.bytes.length > SOURCES[kind].limit) tally(report.overLimit, outcome);
    if (outcome === 'accepted' && NEVER_ACCEPTED[kind].includes(frame.category) && !SOURCES[kind].wellFormed?.(frame.bytes)) tally(report.badAccepted, frame.category);
    if (frame.category === 'valid' && outcome !== 'accepted' && outcome !== 'ignored') report.validRefused++;
    if (outcome === 'silent') report.silent++;
    if (outcome === 'timeout') report.timeouts++;
    if (outcome === 'crash') {
      client.close();
      if (report.crashes.length >= maxCrashes) {
        report.stoppedEarly = `stopped after ${report.crashes.length} crashes`;
        break;
      }
      target = await Target.start(kind, dir);
      await reading();
      client = await connect();
      continue;
    }
    if (outcome !== 'accepted' && outcome !== 'refused' && outcome !== 'ignored') {
      client.close();
      client = await connect();
    }
    // The hub still serves its viewers: a log line sent now reaches this viewer's task.
    if (kind === 'hub' && k % 50 === 0) {
      const r = await target.ask({ type: 'log', task: `fuzz-${viewer}`, n: k });
      if (r === 'timeout' || (r.result !== 'sent' && r.result !== 'queued')) report.healthFailures++;
    }
  }
  client.close();
  report.memAfter = await reading();
  report.polluted = report.memAfter?.polluted === true;
  await target.stop();
  rmSync(dir, { recursive: true, force: true });
  return report;
}

export async function run({ seed, quick }: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const before = resources();
  const crashes = new CrashCounter();
  const peak = new MemoryPeak();
  const count = quick ? 100 : 2000;
  const budget = quick ? 5000 : 20_000;
  const reports: ServerReport[] = [];
  for (const kind of ['agent', 'hub', 'viz'] as const) reports.push(await fuzzOne(kind, seed, count, budget, quick ? 2 : 10));
  const mem = peak.stop();
  const leaked = await leakedSince(before, 1000);
  crashes.stop();

  const rows: Row[] = [];
  const invariants: Invariant[] = [];
  const figures: Record<string, number | string> = {};
  const findings: string[] = [];
  const name = { agent: 'UNIX edge agent', hub: 'TaskLogHub (viewer frames)', viz: 'visualizer /events' };
  for (const r of reports) {
    const growth = r.memAfter && r.memBefore ? r.memAfter.heap - r.memBefore.heap : NaN;
    const refused = (r.outcomes.refused ?? 0) + Object.entries(r.outcomes).filter(([o]) => o.startsWith('closed')).reduce((s, [, n]) => s + n, 0);
    rows.push({
      part: name[r.kind],
      sent: r.frames,
      received: r.frames - r.silent - r.timeouts - r.crashes.length,
      duplicates: 0,
      lost: r.silent + r.timeouts,
      crashes: r.crashes.length,
      leakedHandles: leaked.length,
      peakRssMb: mb(r.peakRss),
      peakHeapMb: mb(r.peakHeap),
    });
    figures[`${r.kind}: outcomes`] = JSON.stringify(r.outcomes);
    figures[`${r.kind}: outcomes by category`] = JSON.stringify(r.byCategory);
    figures[`${r.kind}: heap after GC before → after, MB`] = `${mb(r.memBefore?.heap ?? 0)} → ${mb(r.memAfter?.heap ?? 0)}`;
    figures[`${r.kind}: refused (nack, error reply or close)`] = refused;
    if (r.stoppedEarly) figures[`${r.kind}: stopped early`] = r.stoppedEarly;
    const crashCats: Record<string, number> = {};
    for (const c of r.crashes) tally(crashCats, c.category); // the frame it showed on (see `previous`)
    invariants.push(
      invariant(`${r.kind}: no crash`, r.crashes.length === 0, r.crashes.length ? `${r.crashes.length} crashes (${JSON.stringify(crashCats)}), first on ${r.crashes[0]!.frame}: ${r.crashes[0]!.stderr}` : '0'),
      invariant(`${r.kind}: every frame answered (no silence, no hang)`, r.silent + r.timeouts === 0, `${r.silent} silent, ${r.timeouts} timeouts of ${r.frames}`),
      Number.isFinite(growth)
        ? invariant(`${r.kind}: heap after GC bounded (< 16 MB growth)`, growth < 16 * MiB, `${mb(growth)} MB growth after ${r.frames} frames`)
        : invariant(`${r.kind}: heap after GC bounded (< 16 MB growth)`, false, 'not measured: the last target process had crashed'),
      invariant(`${r.kind}: Object.prototype untouched`, !r.polluted, r.polluted ? 'polluted' : 'untouched'),
      invariant(`${r.kind}: control frames accepted`, r.validRefused === 0, `${r.validRefused} valid frames refused`),
    );
    if (r.kind !== 'agent') {
      // The WebSocket servers refuse a frame over their maxPayload before buffering it: close 1009.
      const over = Object.values(r.overLimit).reduce((s, n) => s + n, 0);
      const closed = r.overLimit['closed 1009'] ?? 0;
      invariants.push(
        invariant(
          `${r.kind}: frames over maxPayload closed with 1009`,
          over > 0 && closed === over,
          `${closed} of ${over} frames over ${SOURCES[r.kind].limit} bytes closed with 1009; outcomes ${JSON.stringify(r.overLimit)}`,
        ),
      );
      if (closed < over) findings.push(`${r.kind}: ${over - closed} frames over its maxPayload (${SOURCES[r.kind].limit} bytes) were not closed with 1009: ${JSON.stringify(r.overLimit)}`);
    }
    if (r.kind === 'hub') {
      invariants.push(invariant('hub: still serves viewers while fuzzed', r.healthFailures === 0, `${r.healthFailures} failed probes`));
      const utf8 = Object.entries(r.byCategory).filter(([c]) => c.startsWith('invalid-utf8'));
      figures['hub: invalid UTF-8 outcomes'] = JSON.stringify(Object.fromEntries(utf8));
      const ignored = r.outcomes.ignored ?? 0;
      if (ignored) findings.push(`hub: ${ignored} of ${r.frames} viewer frames were ignored without a reply (viewers are not expected to send; nothing tells them so)`);
    } else {
      const bad = Object.values(r.badAccepted).reduce((s, n) => s + n, 0);
      invariants.push(invariant(`${r.kind}: bad frames never accepted`, bad === 0, bad ? `accepted: ${JSON.stringify(r.badAccepted)}` : '0 accepted'));
      const closedQuietly = r.kind === 'agent' ? (r.byCategory['oversize: closed socket'] ?? 0) : 0;
      if (closedQuietly) findings.push(`agent: ${closedQuietly} oversize frames closed the connection with no reply to the client (the reason is only logged at the agent, as documented)`);
      if (r.badAccepted['invalid-utf8'] && r.kind === 'agent') findings.push(`agent: acked ${r.badAccepted['invalid-utf8']} events whose frame was not valid UTF-8 (decoded lossily to U+FFFD, so the published event is not what was sent)`);
      if (bad) findings.push(`${r.kind}: bad frames accepted, by category: ${JSON.stringify(r.badAccepted)}`);
    }
    if (r.crashes.length) findings.push(`${r.kind}: ${r.crashes.length} crashes, by frame category ${JSON.stringify(crashCats)}; frames: ${[...new Set(r.crashes.map((c) => c.frame))].slice(0, 4).join(', ')}; first: ${r.crashes[0]!.stderr}`);
  }
  invariants.push(invariant('fuzzer: no handle left', leaked.length === 0, leaked.join(', ') || 'none'));
  const total = (f: (r: ServerReport) => number) => reports.reduce((s, r) => s + f(r), 0);
  return {
    scenario: 'fuzz-servers',
    seed,
    quick,
    durationMs: Date.now() - started,
    summary: `fuzz-servers: ${total((r) => r.frames)} frames into agent/hub/visualizer; crashes ${reports.map((r) => `${r.kind} ${r.crashes.length}`).join(', ')}; silent ${total((r) => r.silent)}; timeouts ${total((r) => r.timeouts)}; fuzzer crashes ${crashes.count}; leaked ${leaked.length}`,
    rows,
    invariants,
    figures: { ...figures, 'fuzzer peak RSS, MB': mem.rssMb },
    findings,
  };
}
