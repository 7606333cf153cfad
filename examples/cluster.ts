/**
 * Task logs across hubs (issue 16): two TaskLogHubs sharing their queues
 * through Redis, a producer on one, viewers on either.
 *
 *   npm run example:cluster                       # starts its own redis-server
 *   REDIS_URL=redis://127.0.0.1:6379 npm run example:cluster
 *
 * Without REDIS_URL it runs a redis-server of its own (on a free port, nothing
 * written to disk) when one is on PATH; with neither it says so and exits 0.
 * The two hubs run in this one process for brevity; each has its own HTTP
 * port and its own Redis connections, exactly as two processes behind a load
 * balancer would. It runs through and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { TaskLogHub, redisHubAdapter, type TaskLogMessage } from '../transports/websocket/index.js';

/** A redis-server of our own on a free port, or undefined when there is none on PATH. */
async function ownRedis(): Promise<{ url: string; stop(): void } | undefined> {
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));
  const dir = mkdtempSync(join(tmpdir(), 'statewire-cluster-'));
  const server: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'ignore'] });
  const started = await new Promise<boolean>((resolve) => {
    let out = '';
    server.once('error', () => resolve(false)); // ENOENT: not on PATH
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve(true);
    });
    server.once('exit', () => resolve(false));
  });
  const stop = () => {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  if (!started) {
    stop();
    return undefined;
  }
  server.stdout!.resume();
  return { url: `redis://127.0.0.1:${port}`, stop };
}

/** A hub with the Redis adapter on an HTTP port of its own (`/logs`). */
async function startHub(name: string, url: string) {
  const http: Server = createServer();
  const hub = new TaskLogHub({ adapter: redisHubAdapter({ url }) });
  hub.attach(http, { path: '/logs' });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  // Both of its Redis connections are supervised children: wait until they are connected.
  await new Promise<void>((resolve) => {
    const sub = hub.supervisor.state$.subscribe((s) => {
      if (s['redis:commands'] === 'connected' && s['redis:subscriber'] === 'connected') {
        queueMicrotask(() => sub.unsubscribe());
        resolve();
      }
    });
  });
  const base = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/logs`;
  return {
    name,
    hub,
    base,
    async close() {
      await hub.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** A viewer of `task` on `hub`: prints each line it gets. */
async function watch(hub: { name: string; base: string }, task: string, lastSeq?: number) {
  const got: TaskLogMessage[] = [];
  const ws = new WebSocket(`${hub.base}?task=${task}${lastSeq === undefined ? '' : `&lastSeq=${lastSeq}`}`);
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as TaskLogMessage;
    got.push(m);
    console.log(`  viewer of ${task} on hub ${hub.name} got #${m.seq} ${m.message}`);
  });
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  return {
    got,
    /** Until it has `n` lines in all (an error after `ms`, saying what it has). */
    has: async (n: number, ms = 10_000) => {
      const end = Date.now() + ms;
      while (got.length < n) {
        if (Date.now() > end) throw new Error(`the viewer of ${task} on hub ${hub.name} got ${got.length} lines within ${ms} ms, not ${n}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => new Promise<void>((r) => (ws.once('close', () => r()), ws.close())),
  };
}

let redis: { url: string; stop(): void } | undefined;
let url = process.env.REDIS_URL;
if (!url) {
  redis = await ownRedis();
  if (!redis) {
    console.log('redis-server is not on PATH and REDIS_URL is not set: nothing to run (install redis-server, or point REDIS_URL at a Redis).');
    process.exit(0);
  }
  url = redis.url;
  console.log(`started redis-server at ${url} (set REDIS_URL to use yours)`);
}

const hubs: Array<Awaited<ReturnType<typeof startHub>>> = [];
try {
  const a = await startHub('A', url);
  hubs.push(a);
  const b = await startHub('B', url);
  hubs.push(b);
  console.log(`hub A: ${a.base}   hub B: ${b.base}`);
  const producer = a.hub; // the task runs next to hub A
  const log = (task: string, message: string, progress: number) => producer.sendLog(task, 'info', message, { progress });

  console.log('\nthe producer (on A) logs 3 lines for build-7 before anyone watches:');
  for (const [i, step] of ['checkout', 'install', 'compile'].entries()) console.log(`  ${step}: ${await log('build-7', step, (i + 1) * 20)}`);

  console.log('\na viewer opens build-7 on hub B: the queued lines come first, then the live ones');
  const first = await watch(b, 'build-7');
  await first.has(3);
  console.log(`  test: ${await log('build-7', 'test', 80)}`);
  await first.has(4);

  console.log('\nthe viewer loses hub B and comes back on hub A with lastSeq=4; meanwhile the task logs on');
  await first.close();
  await log('build-7', 'package', 90);
  const again = await watch(a, 'build-7', first.got.at(-1)!.seq);
  await again.has(1);
  await log('build-7', 'done', 100);
  await again.has(2);

  const seqs = [...first.got, ...again.got].map((m) => m.seq);
  console.log(`\nthe viewer got seq ${seqs.join(', ')}: each line once, in order, across two hubs`);
  await again.close();
} finally {
  // Whatever happened above: the hubs closed, and our redis-server stopped.
  try {
    await Promise.all(hubs.map((h) => h.close()));
  } finally {
    redis?.stop();
  }
}
console.log('closed');
