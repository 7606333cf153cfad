/**
 * Scenario "fuzz-servers": bad input into every server we run, each in a
 * process of its own (bench/chaos/fuzz-target.ts) so a crash is counted, the
 * server started again, and the fuzzing goes on:
 *
 * - the UNIX edge agent (`EdgeAgentServer`): one line per frame;
 * - the TaskLogHub: frames from a viewer (viewers are not expected to send
 *   anything: a frame is ignored, or the socket is closed with a code);
 * - the visualizer's `/events` WebSocket (commands `{ action, id }`).
 *
 * After each frame the fuzzer sends a sentinel whose answer it knows (a frame
 * the agent nacks with a known id, a ping to the hub, a command the
 * visualizer refuses with a known message), so what came before the
 * sentinel's answer is the frame's answer: accepted, refused with a reason
 * (nack, error reply), or closed (with the WebSocket close code). Nothing
 * before the sentinel, where an answer was due, is "silent". A crash is the
 * target process exiting. Memory is the target's heap after GC, before and
 * after, and its peaks.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
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

const TARGET = fileURLToPath(new URL('./fuzz-target.ts', import.meta.url));
const MiB = 2 ** 20;

type Kind = 'agent' | 'hub' | 'viz';
type Outcome = 'accepted' | 'refused' | 'ignored' | 'silent' | `closed ${string}` | 'timeout' | 'crash';

interface Mem {
  heap: number;
  rss: number;
  peakRss: number;
  peakHeap: number;
  polluted: boolean;
}

/** The target process. */
class Target {
  exited: string | undefined;
  stderr = '';
  readonly exit: Promise<void>;
  #replies: Array<(m: Record<string, unknown>) => void> = [];
  private constructor(
    readonly child: ChildProcess,
    readonly ready: { path?: string; port?: number },
  ) {
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    child.on('message', (m: Record<string, unknown>) => this.#replies.shift()?.(m));
    this.exit = new Promise((r) =>
      child.on('exit', (code, signal) => {
        this.exited = signal ?? String(code);
        for (const w of this.#replies.splice(0)) w({});
        r();
      }),
    );
  }

  static async start(kind: Kind, dir: string): Promise<Target> {
    const child = fork(TARGET, [kind, dir], { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (.*)\n/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`fuzz target ${kind} exited (${code}) before it was ready`)));
    });
    return new Target(child, JSON.parse(line));
  }

  ask(msg: Record<string, unknown>): Promise<Record<string, unknown> | 'timeout'> {
    if (this.exited) return Promise.resolve({});
    return within(
      new Promise<Record<string, unknown>>((r) => {
        this.#replies.push(r);
        this.child.send(msg);
      }),
      5000,
    );
  }

  async mem(): Promise<Mem | undefined> {
    const m = await this.ask({ type: 'mem' });
    return m === 'timeout' || m.heap === undefined ? undefined : (m as unknown as Mem);
  }

  async stop() {
    if (!this.exited) {
      this.child.kill('SIGTERM');
      await within(this.exit, 3000);
      if (!this.exited) this.child.kill('SIGKILL');
    }
    await this.exit;
  }
}

/** A client that can send one frame and tell what answered it. */
interface Client {
  /** Send `frame` and its sentinel (the `k`-th); what answered the frame. */
  probe(frame: Frame, k: number): Promise<Outcome>;
  close(): void;
}

/** The agent: newline-delimited frames; the sentinel `{"id":<big>}` is nacked with that id. */
async function agentClient(path: string): Promise<Client> {
  const socket: Socket = createConnection({ path });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  let buffer = '';
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  socket.on('data', (d: Buffer) => {
    const parts = (buffer + d.toString()).split('\n');
    buffer = parts.pop()!;
    lines.push(...parts.filter(Boolean));
    wake?.();
  });
  socket.on('close', () => {
    closed = true;
    wake?.();
  });
  return {
    async probe(frame, k) {
      const sentinel = 1_000_000_000 + k;
      lines.length = 0;
      socket.write(Buffer.concat([frame.bytes, Buffer.from(`\n{"id":${sentinel}}\n`)]));
      const end = Date.now() + 5000;
      const answers: string[] = [];
      for (;;) {
        while (lines.length) {
          const line = lines.shift()!;
          if (line.includes(`"nack":${sentinel}`)) return classifyAgent(answers, frame);
          answers.push(line);
        }
        if (closed) return 'closed socket';
        if (Date.now() > end) return 'timeout';
        await within(new Promise<void>((r) => (wake = r)), Math.max(1, end - Date.now()));
      }
    },
    close: () => socket.destroy(),
  };
}

function classifyAgent(answers: string[], frame: Frame): Outcome {
  if (answers.length === 0) return expectsSilence(frame) ? 'ignored' : 'silent';
  const replies = answers.map((a) => {
    try {
      return JSON.parse(a) as { ack?: number; nack?: number; error?: string };
    } catch {
      return {};
    }
  });
  if (replies.some((m) => 'nack' in m && typeof m.error === 'string' && m.error !== '')) return 'refused';
  if (replies.some((m) => typeof m.ack === 'number')) return 'accepted';
  return 'silent';
}

/** Blank lines and `{"session":"..."}` lines get no answer by protocol. */
function expectsSilence(frame: Frame): boolean {
  const text = frame.bytes.toString();
  if (text.trim() === '') return true;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    return v !== null && typeof v === 'object' && typeof v.session === 'string' && Object.keys(v).length === 1;
  } catch {
    return false;
  }
}

/** A WebSocket client; `sentinel` sends the k-th sentinel and resolves with the frame's outcome. */
async function wsClient(url: string, sentinel: (ws: WebSocket, k: number, answers: unknown[]) => Promise<Outcome | undefined>): Promise<Client> {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`closed ${code} before open`)));
  });
  let closeCode: number | undefined;
  const closed = new Promise<Outcome>((r) => ws.once('close', (code) => r(`closed ${(closeCode = code)}`)));
  return {
    async probe(frame, k) {
      if (closeCode !== undefined) return `closed ${closeCode}`;
      // Text frames carry the bytes as they are (invalid UTF-8 included); random bytes go as binary half the time.
      ws.send(frame.bytes, { binary: frame.category === 'random-bytes' && k % 2 === 0 });
      const answer = await within(Promise.race([sentinel(ws, k, []), closed]), 5000);
      return answer === 'timeout' ? 'timeout' : (answer ?? 'silent');
    },
    close: () => ws.terminate(),
  };
}

/** The hub: a viewer's frame is ignored or closes the socket; a ping's pong is the sentinel. */
function hubClient(port: number, task: string): Promise<Client> {
  return wsClient(`ws://127.0.0.1:${port}/logs?task=${encodeURIComponent(task)}`, (ws) => new Promise((resolve) => {
    ws.once('pong', () => resolve('ignored'));
    ws.ping();
  }));
}

/** The visualizer: the sentinel is an unknown action with a unique id; error replies before its answer are the frame's. */
function vizClient(port: number): Promise<Client> {
  return wsClient(`ws://127.0.0.1:${port}/events`, (ws, k) => new Promise((resolve) => {
    let errors = 0;
    const onMessage = (data: Buffer) => {
      let m: { type?: string; message?: string };
      try {
        m = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (m.type !== 'error') return;
      if (m.message === `cannot sentinel s-${k}`) {
        ws.off('message', onMessage);
        resolve(errors > 0 ? 'refused' : 'accepted');
      } else errors++;
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ action: 'sentinel', id: `s-${k}` }));
  }));
}

// `details` last: invalid UTF-8 goes into its string value, the one place a lossy decode would go unnoticed.
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
    limit: MiB,
    valid: (n) => JSON.stringify({ type: 'hello', n }),
    prototype: () => ['{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '{"type":"__proto__"}'],
  },
  viz: {
    limit: MiB,
    valid: (n) => JSON.stringify({ action: ['connect', 'tx-drop', 'drop-link'][n % 3], id: n % 2 ? 'a' : 'b' }),
    prototype: () => [
      '{"action":"__proto__","id":"a"}',
      '{"action":"constructor","id":"a"}',
      '{"action":"toString","id":"b"}',
      '{"action":"hasOwnProperty","id":"a"}',
      '{"action":"connect","id":"__proto__"}',
      '{"action":"connect","id":"constructor"}',
      '{"__proto__":{"action":"connect","id":"a"}}',
      '{"action":"connect","id":"a","__proto__":{"polluted":1}}',
    ],
  },
};

/** Categories whose frames must never be accepted: refused, closed, or (hub) ignored. */
const NEVER_ACCEPTED: Record<Kind, Category[]> = {
  agent: ['invalid-utf8', 'oversize', 'json-values', 'random-bytes'],
  hub: [],
  viz: ['invalid-utf8', 'oversize', 'prototype-keys', 'json-values', 'random-bytes'],
};

interface ServerReport {
  kind: Kind;
  frames: number;
  outcomes: Record<string, number>;
  /** outcome by category: "category outcome" -> n. */
  byCategory: Record<string, number>;
  crashes: Array<{ category: Category; frame: string; stderr: string }>;
  badAccepted: Record<string, number>;
  validRefused: number;
  silent: number;
  timeouts: number;
  healthFailures: number;
  memBefore?: Mem;
  memAfter?: Mem;
  polluted: boolean;
  stoppedEarly: string | undefined;
}

async function fuzzOne(kind: Kind, seed: number, count: number, deadline: number, maxCrashes: number): Promise<ServerReport> {
  const dir = mkdtempSync(join(tmpdir(), 'swf-'));
  const rand = random(subSeed(seed, `fuzz-${kind}`));
  const report: ServerReport = { kind, frames: 0, outcomes: {}, byCategory: {}, crashes: [], badAccepted: {}, validRefused: 0, silent: 0, timeouts: 0, healthFailures: 0, polluted: false, stoppedEarly: undefined };
  let target = await Target.start(kind, dir);
  report.memBefore = await target.mem();
  let viewer = 0;
  const connect = (): Promise<Client> =>
    kind === 'agent' ? agentClient(target.ready.path!) : kind === 'hub' ? hubClient(target.ready.port!, `fuzz-${++viewer}`) : vizClient(target.ready.port!);
  let client = await connect();
  let k = 0;
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
      report.crashes.push({ category: frame.category, frame: JSON.stringify(frame.bytes.subarray(0, 60).toString()), stderr: target.stderr.split('\n').filter((l) => /Error|at /.test(l)).slice(0, 3).join(' | ') });
    }
    tally(report.outcomes, outcome.startsWith('closed') ? outcome : outcome);
    tally(report.byCategory, `${frame.category}: ${outcome}`);
    if (outcome === 'accepted' && NEVER_ACCEPTED[kind].includes(frame.category)) tally(report.badAccepted, frame.category);
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
  report.memAfter = await target.mem();
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
  for (const kind of ['agent', 'hub', 'viz'] as const) reports.push(await fuzzOne(kind, seed, count, Date.now() + budget, quick ? 2 : 10));
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
      peakRssMb: mb(r.memAfter?.peakRss ?? 0),
      peakHeapMb: mb(r.memAfter?.peakHeap ?? 0),
    });
    figures[`${r.kind}: outcomes`] = JSON.stringify(r.outcomes);
    figures[`${r.kind}: outcomes by category`] = JSON.stringify(r.byCategory);
    figures[`${r.kind}: heap after GC before → after, MB`] = `${mb(r.memBefore?.heap ?? 0)} → ${mb(r.memAfter?.heap ?? 0)}`;
    figures[`${r.kind}: refused (nack, error reply or close)`] = refused;
    if (r.stoppedEarly) figures[`${r.kind}: stopped early`] = r.stoppedEarly;
    const crashCats: Record<string, number> = {};
    for (const c of r.crashes) tally(crashCats, c.category);
    const known = r.kind === 'viz' ? 'KNOWN: visualizer /events validation' : undefined;
    invariants.push(
      invariant(`${r.kind}: no crash`, r.crashes.length === 0, r.crashes.length ? `${r.crashes.length} crashes (${JSON.stringify(crashCats)}), first on ${r.crashes[0]!.frame}: ${r.crashes[0]!.stderr}` : '0', known),
      invariant(`${r.kind}: every frame answered (no silence, no hang)`, r.silent + r.timeouts === 0, `${r.silent} silent, ${r.timeouts} timeouts of ${r.frames}`),
      Number.isFinite(growth)
        ? invariant(`${r.kind}: heap after GC bounded (< 16 MB growth)`, growth < 16 * MiB, `${mb(growth)} MB growth after ${r.frames} frames`)
        : invariant(`${r.kind}: heap after GC bounded (< 16 MB growth)`, r.crashes.length > 0, 'not measured: the target had crashed', known),
      invariant(`${r.kind}: Object.prototype untouched`, !r.polluted, r.polluted ? 'polluted' : 'untouched'),
      invariant(`${r.kind}: control frames accepted`, r.validRefused === 0, `${r.validRefused} valid frames refused`),
    );
    if (r.kind === 'hub') {
      const oversize = Object.entries(r.byCategory).filter(([c]) => c.startsWith('oversize'));
      const taken = oversize.filter(([c]) => !c.includes('closed')).reduce((s, [, n]) => s + n, 0);
      invariants.push(
        invariant('hub: oversize viewer frames closed (1009)', taken === 0, `${taken} frames over 1 MiB taken; ${JSON.stringify(Object.fromEntries(oversize))}`, 'KNOWN: hub maxPayload (ws default 100 MiB)'),
        invariant('hub: still serves viewers while fuzzed', r.healthFailures === 0, `${r.healthFailures} failed probes`),
      );
      const utf8 = Object.entries(r.byCategory).filter(([c]) => c.startsWith('invalid-utf8'));
      figures['hub: invalid UTF-8 outcomes'] = JSON.stringify(Object.fromEntries(utf8));
      if (taken) findings.push(`hub: ${taken} viewer frames over 1 MiB were read and ignored instead of refused (ws default maxPayload, 100 MiB)`);
      const ignored = r.outcomes.ignored ?? 0;
      if (ignored) findings.push(`hub: ${ignored} of ${r.frames} viewer frames were ignored without a reply (viewers are not expected to send; nothing tells them so)`);
    } else {
      const bad = Object.values(r.badAccepted).reduce((s, n) => s + n, 0);
      const knownBad = r.kind === 'viz' ? 'KNOWN: visualizer /events validation' : undefined;
      invariants.push(invariant(`${r.kind}: bad frames never accepted`, bad === 0, bad ? `accepted: ${JSON.stringify(r.badAccepted)}` : '0 accepted', knownBad ?? (r.badAccepted['invalid-utf8'] ? 'FOUND, unassigned: the agent decodes invalid UTF-8 lossily (U+FFFD) and acks the event' : undefined)));
      if (bad) findings.push(`${r.kind}: bad frames accepted: ${JSON.stringify(r.badAccepted)}`);
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
