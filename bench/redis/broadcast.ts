/**
 * The `redis` bench group's runs (issue 16): log lines per second from a
 * producer on process A to V viewers spread over processes A and B, one
 * Redis between them, TaskLogHub + `redisHubAdapter` beside socket.io +
 * `@socket.io/redis-adapter`.
 *
 *   broadcast.ts <rounds> <viewers> <lines per viewer>
 *
 * Starts its own redis-server (`--save '' --appendonly no`). A run: servers A
 * and B (bench/redis/server.ts), half the viewers on each, in two client
 * processes (bench/redis/viewers.ts); one warm-up line to every task (the
 * hub: every viewer has caught up, subscribed and claimed); then A sends L
 * lines to each of the V tasks, and the run is timed from A's first send to
 * the last viewer's last line. Rounds interleave the subjects, the first one
 * rotating. Prints one JSON line: every run, with the CPU time of A, B and
 * Redis during the timed part.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { forkTsx, type Proc } from '../ipc.js';

type Subject = 'hub' | 'socketio';
const SUBJECTS: Subject[] = ['hub', 'socketio'];
const [roundsArg, viewersArg, linesArg] = process.argv.slice(2);
const ROUNDS = Math.max(1, Number(roundsArg ?? 3));
const V = Number(viewersArg ?? 500);
const L = Number(linesArg ?? 40);
const STAGE_MS = 120_000;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'statewire-bench-redis-'));
const redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((resolve, reject) => {
  let out = '';
  redisServer.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('Ready to accept connections')) resolve();
  });
  redisServer.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
});
redisServer.stdout!.resume();
process.on('exit', () => redisServer.kill('SIGKILL'));
const url = `redis://127.0.0.1:${port}`;
const admin = new Redis(url);

/** Redis's own CPU time so far, ms (INFO cpu: used_cpu_user + used_cpu_sys). */
async function redisCpuMs(): Promise<number> {
  const info = await admin.info('cpu');
  const num = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (num('used_cpu_user') + num('used_cpu_sys')) * 1000;
}
const cpuOf = async (p: Proc) => {
  const got = p.next('cpuMs', STAGE_MS);
  p.send({ cpu: true });
  return (await got).cpuMs as number;
};

/** One round of one subject, as printed (bench/redis/section.ts reads it). */
export interface Run {
  subject: Subject;
  round: number;
  load1: number;
  ms: number;
  linesPerSecond: number;
  failed: number;
  cpuMsPer1kLines: { a: number; b: number; redis: number };
}

async function run(subject: Subject, round: number): Promise<Run> {
  await admin.flushall();
  // BENCH_REDIS_PROF=<dir>: a CPU profile of each server process there.
  const prof = process.env.BENCH_REDIS_PROF ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_REDIS_PROF] } : {};
  const servers = [forkTsx(new URL('./server.ts', import.meta.url), [subject, url], prof), forkTsx(new URL('./server.ts', import.meta.url), [subject, url], prof)];
  const ports = await Promise.all(servers.map(async (s) => (await s.next('port', STAGE_MS)).port as number));
  const half = Math.floor(V / 2);
  const viewers = [forkTsx(new URL('./viewers.ts', import.meta.url), [subject, String(ports[0]), '0', String(half)]), forkTsx(new URL('./viewers.ts', import.meta.url), [subject, String(ports[1]), String(half), String(V - half)])];
  const [a, b] = servers as [Proc, Proc];
  try {
    await Promise.all(viewers.map((v) => v.next('ready', STAGE_MS)));
    const counts = [half, V - half];
    const phase = async (lines: number, from: number) => {
      await Promise.all(viewers.map(async (v, i) => {
        const ok = v.next('counting', STAGE_MS);
        v.send({ expect: counts[i]! * lines });
        await ok;
      }));
      const done = viewers.map((v) => v.next('done', STAGE_MS));
      const produced = a.next('produced', STAGE_MS);
      const t0 = Date.now();
      a.send({ produce: { tasks: V, lines, from } });
      const ends = await Promise.all(done);
      const p = await produced;
      return { ms: Math.max(...ends.map((e) => e.at as number)) - t0, failed: p.failed as number };
    };
    await phase(1, 0); // warm-up: every viewer reached (the hub: caught up and claimed)
    const load1 = loadavg()[0]!;
    const [ca, cb, cr] = await Promise.all([cpuOf(a), cpuOf(b), redisCpuMs()]);
    const { ms, failed } = await phase(L, 1);
    const [ca2, cb2, cr2] = await Promise.all([cpuOf(a), cpuOf(b), redisCpuMs()]);
    const per1k = (x: number) => +((x / (V * L)) * 1000).toFixed(1);
    const r: Run = { subject, round, load1: +load1.toFixed(2), ms, linesPerSecond: Math.round((V * L) / (ms / 1000)), failed, cpuMsPer1kLines: { a: per1k(ca2 - ca), b: per1k(cb2 - cb), redis: per1k(cr2 - cr) } };
    console.error(JSON.stringify(r));
    return r;
  } finally {
    for (const p of [...viewers, ...servers]) p.send({ close: true });
    await Promise.all([...viewers, ...servers].map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 10_000))])));
    for (const p of [...viewers, ...servers]) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
}

const runs: Run[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = SUBJECTS.map((_, i) => SUBJECTS[(i + round) % SUBJECTS.length]!);
  for (const subject of order) runs.push(await run(subject, round));
}
admin.disconnect();
redisServer.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ figure: 'redis-broadcast', viewers: V, linesPerViewer: L, rounds: ROUNDS, runs }));
process.exit(0);
