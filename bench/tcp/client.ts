/**
 * One subject of the tcp bench, against `peer.ts` in its own process, over one TLS 1.3 connection:
 *   client.ts <subject> echo <n> <certDir>       n round trips of a 64-byte message, one after another
 *   client.ts <subject> upload <mb> <certDir>     mb MiB to the peer, in 64 KiB sends, 8 MiB blocks each acknowledged
 *   client.ts <subject> download <mb> <certDir>   mb MiB from the peer, asked for in 8 MiB blocks
 * Subjects:
 *   raw          `tls.connect`, `socket.write` (paced by 'drain'), a 'data' listener
 *   link         `tcpTransport(...).connect()`: `link.send` (at most 16 sends in flight), `link.incoming$`
 *   supervisor   the same transport under `createSupervisor`: `handle.send`, `handle.data$`
 * Prints one JSON line: the rate, and the CPU time this process used while timed (user + system), per
 * round trip or per MiB: steadier than the rate on a shared machine.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect as tlsConnect } from 'node:tls';
import { filter, firstValueFrom } from 'rxjs';
import { createSupervisor, silentLogger } from '../../actors/index.js';
import { tcpTransport } from '../../transports/tcp/index.js';
import type { Payload } from '../../machines/ports/transport.js';

type Subject = 'raw' | 'link' | 'supervisor';
type Mode = 'echo' | 'upload' | 'download';
const [subject, mode, nArg, dir] = process.argv.slice(2) as [Subject, Mode, string, string];
if (!['raw', 'link', 'supervisor'].includes(subject) || !['echo', 'upload', 'download'].includes(mode)) throw new TypeError('usage: client.ts <raw|link|supervisor> <echo|upload|download> <n> <certDir>');
const n = Number(nArg);
const BLOCK = 8 * 1024 * 1024;
const CHUNK = 64 * 1024;
const WINDOW = 16;
const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');

const peerMode = { echo: ['echo'], upload: ['sink', String(BLOCK)], download: ['source', String(BLOCK)] }[mode];
const peer = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./peer.ts', import.meta.url)), dir, ...peerMode], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve) => {
  let out = '';
  peer.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /listening (\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
});

/** What every subject gives the loops below. */
interface Endpoint {
  /** Send one message; for bulk, resolves when another may go (the subject's own pacing). */
  send(data: Uint8Array): void | Promise<unknown>;
  onData(cb: (bytes: number) => void): void;
  close(): Promise<void>;
}

const bytesOf = (d: Payload) => (typeof d === 'string' ? Buffer.byteLength(d) : d.byteLength);

async function open(): Promise<Endpoint> {
  if (subject === 'raw') {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    await new Promise((r) => socket.once('secureConnect', r));
    socket.setNoDelay(true);
    return {
      send: (data) => (socket.write(data) ? undefined : new Promise((r) => socket.once('drain', r))),
      onData: (cb) => socket.on('data', (d: Buffer) => cb(d.length)),
      close: () => new Promise<void>((r) => socket.end(() => r())),
    };
  }
  const transport = tcpTransport({ host: 'localhost', port, tls: { ca } });
  // At most WINDOW sends in flight: a sender's pacing when `send` is a promise.
  const paced = (send: (d: Uint8Array) => Promise<void>) => {
    const inflight = new Set<Promise<void>>();
    return (data: Uint8Array) => {
      const p = send(data).finally(() => inflight.delete(p));
      inflight.add(p);
      return inflight.size >= WINDOW ? Promise.race(inflight) : undefined;
    };
  };
  if (subject === 'link') {
    const link = await transport.connect({ signal: new AbortController().signal });
    return {
      send: paced((d) => link.send(d)),
      onData: (cb) => link.incoming$.subscribe((d) => cb(bytesOf(d))),
      close: () => link.close(),
    };
  }
  const sup = createSupervisor({ logger: silentLogger });
  sup.startChild({ id: 'bench', transport });
  const handle = sup.connection('bench');
  await firstValueFrom(handle.state$.pipe(filter((s) => s === 'connected')));
  return {
    send: paced((d) => handle.send(d)),
    onData: (cb) => handle.data$.subscribe((d) => cb(bytesOf(d))),
    close: () => sup.shutdown(),
  };
}

const ep = await open();
let received = 0;
let want = 0;
let wake: (() => void) | undefined;
ep.onData((bytes) => {
  received += bytes;
  if (received >= want && wake) {
    const w = wake;
    wake = undefined;
    w();
  }
});
/** Resolves once `received` reaches `target`. */
const reach = (target: number) => {
  want = target;
  return received >= target ? Promise.resolve() : new Promise<void>((r) => (wake = r));
};

const message = new Uint8Array(64).fill(42);
const chunk = new Uint8Array(CHUNK).fill(3);
async function echo(count: number) {
  for (let i = 0; i < count; i++) {
    const done = reach(received + message.length);
    void ep.send(message);
    await done;
  }
}
async function upload(blocks: number) {
  for (let b = 0; b < blocks; b++) {
    const acked = reach(received + 1);
    for (let sent = 0; sent < BLOCK; sent += CHUNK) await ep.send(chunk);
    await acked;
  }
}
async function download(blocks: number) {
  for (let b = 0; b < blocks; b++) {
    const done = reach(received + BLOCK);
    void ep.send(Uint8Array.of(103));
    await done;
  }
}

const run = { echo, upload, download }[mode];
const units = mode === 'echo' ? n : Math.max(1, Math.round((n * 1024 * 1024) / BLOCK));
await run(mode === 'echo' ? 1000 : 2); // warm-up
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await run(units);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
/** CPU time of this process (user + system, every thread) while timed, µs. */
const cpuUs = cpu.user + cpu.system;
await ep.close();
peer.kill('SIGTERM');
await new Promise((r) => peer.once('exit', r));
const figure =
  mode === 'echo'
    ? { perSecond: Math.round((n / ms) * 1000), usPerRoundTrip: Math.round((ms * 1000) / n), cpuUsPerRoundTrip: Math.round((cpuUs / n) * 10) / 10 }
    : { mbPerSecond: Math.round(((units * BLOCK) / 1024 / 1024 / ms) * 1000), cpuUsPerMiB: Math.round(cpuUs / ((units * BLOCK) / 1024 / 1024)) };
console.log(JSON.stringify({ figure: `tcp-${mode}`, subject, n: units, ...figure, ms: Math.round(ms) }));
