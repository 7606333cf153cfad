/**
 * Events per second over one UNIX socket, the peer in its own process (peer.ts):
 *   edge.ts pipelined <n>   EdgeClient, all n sendEvent calls at once (inFlightLimit 256, or env INFLIGHT),
 *                           each resolved when the agent acked it
 *   edge.ts stopwait <n>    the seed's way at its fastest: a raw socket writes one frame, and the
 *                           'data' handler that reads its ack writes the next (no promise, no timer)
 *   edge.ts raw <n>         raw socket writes of the same frames to a sink, no acks: frames joined
 *                           into ~64 KiB writes, 'drain' awaited when the socket says so; timed until
 *                           the sink has read them all
 * Every subject first sends `n / 10` (at least 2,000) events untimed, on the same connection: the
 * JIT of both processes is warm when timing starts. Frames are built the same way in every subject
 * that builds its own (the event object through JSON.stringify, the timestamp's ISO string made once
 * per millisecond, as EdgeClient does). One JSON line: events per second, and CPU (user + system) per
 * event of this process and of the peer while timed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgeClient } from '../../transports/unix/index.js';

const [subject, nArg] = process.argv.slice(2) as ['pipelined' | 'stopwait' | 'raw', string];
const n = Number(nArg);
const warm = Math.max(2000, Math.round(n / 10));
const dir = mkdtempSync(join(tmpdir(), 'swb-'));
const path = join(dir, 'edge.sock');
const peerArgs = subject === 'raw' ? ['sink', path, `${warm},${n}`] : ['agent', path];
const peer = spawn(process.execPath, [...(process.env.PEER_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.PEER_PROF] : []), '--import', 'tsx', fileURLToPath(new URL('./peer.ts', import.meta.url)), ...peerArgs], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let peerOut = '';
peer.stdout!.on('data', (d) => (peerOut += d));
await new Promise<void>((r) => peer.stdout!.on('data', () => peerOut.includes('listening') && r()));

const details = { user: 'root', source: '203.0.113.9', attempts: 3 };
let stampMs = Number.NaN;
let stampIso = '';
const stamp = () => {
  const ms = Date.now();
  if (ms !== stampMs) stampIso = new Date((stampMs = ms)).toISOString();
  return stampIso;
};
const frame = (id: number) => `${JSON.stringify({ id, event_type: 'LoginFailed', severity: 'high', details, timestamp: stamp() })}\n`;

/** Connect a raw socket; `lines(fn)` calls fn with each line the peer sends. */
async function rawSocket(): Promise<{ s: Socket; lines(fn: (line: string) => void): void }> {
  const s = createConnection({ path });
  await new Promise((r) => s.once('connect', r));
  let buf = '';
  let onLine: (line: string) => void = () => {};
  s.on('data', (d) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      onLine(line);
    }
  });
  return { s, lines: (fn) => (onLine = fn) };
}

/** Stop-and-wait: ids from..to, each written by the handler of the previous one's ack. */
function stopAndWait(sock: Awaited<ReturnType<typeof rawSocket>>, from: number, to: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let id = from;
    sock.lines((line) => {
      if (JSON.parse(line).ack !== id) return reject(new Error(`ack mismatch: ${line} for ${id}`));
      if (id++ === to) resolve();
      else sock.s.write(frame(id));
    });
    sock.s.write(frame(id));
  });
}

/** Raw writes of ids from..to in ~64 KiB writes, then wait for the sink's "done". */
async function rawWrites(sock: Awaited<ReturnType<typeof rawSocket>>, from: number, to: number): Promise<void> {
  const done = new Promise<void>((r) => sock.lines(() => r()));
  let chunk = '';
  for (let id = from; id <= to; id++) {
    chunk += frame(id);
    if (chunk.length >= 65536 || id === to) {
      const ok = sock.s.write(chunk);
      chunk = '';
      if (!ok) await new Promise((r) => sock.s.once('drain', r));
    }
  }
  await done;
}

let t0 = 0;
let cpu0: NodeJS.CpuUsage | undefined;
const startTiming = () => {
  peer.kill('SIGUSR2');
  cpu0 = process.cpuUsage();
  t0 = performance.now();
};
let ms: number;
if (subject === 'pipelined') {
  const conn = await EdgeClient.open({ path, ...(process.env.INFLIGHT ? { inFlightLimit: Number(process.env.INFLIGHT) } : {}) });
  await Promise.all(Array.from({ length: warm }, () => conn.sendEvent('LoginFailed', 'high', details)));
  startTiming();
  await Promise.all(Array.from({ length: n }, () => conn.sendEvent('LoginFailed', 'high', details)));
  ms = performance.now() - t0;
  await conn.close();
} else {
  const sock = await rawSocket();
  const run = subject === 'stopwait' ? stopAndWait : rawWrites;
  await run(sock, 1, warm);
  startTiming();
  await run(sock, warm + 1, warm + n);
  ms = performance.now() - t0;
  sock.s.destroy();
}
const cpu = process.cpuUsage(cpu0);
peer.kill('SIGTERM');
await new Promise((r) => peer.once('exit', r));
rmSync(dir, { recursive: true, force: true });
const peerCpuUs = Number(/\{"cpuUs":(\d+)\}/.exec(peerOut)?.[1] ?? Number.NaN);
const perEvent = (us: number) => Math.round((us / n) * 100) / 100;
console.log(
  JSON.stringify({
    figure: 'unix-events',
    subject,
    n,
    perSecond: Math.round((n / ms) * 1000),
    ms: Math.round(ms),
    cpuUsPerEvent: perEvent(cpu.user + cpu.system),
    sysUsPerEvent: perEvent(cpu.system),
    peerCpuUsPerEvent: perEvent(peerCpuUs),
  }),
);
