/**
 * redisHubAdapter (issue 16) with hubs in this process on one real
 * redis-server and real `ws` viewers: the queue rules across hubs, lastSeq
 * resume, a viewer replaced or disconnected from another hub, the two Redis
 * connections as supervised children (their states on `events$`), lines sent
 * while Redis is down, the bound on them, and bad input; a `lastSeq` Redis
 * never gave out, numbering after `hub.disconnect`, what the stream keeps for
 * a viewer that fails, a dead owner (its liveness key gone) and a lost task
 * (`?`), the TTL, a line Redis refuses, `'sent'` vs `'queued'`, connections
 * that fail for good, and the hub forgetting tasks. (Hubs in separate
 * processes: redis-cluster.test.ts.)
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createSupervisor, type ConnectionLogEvent, type Supervisor } from '../../../actors/index.js';
import {
  RedisBacklogFullError,
  RedisCommandError,
  TaskLogHub,
  redisHubAdapter,
  type RedisHubAdapterOptions,
  type TaskLogHubEvent,
  type TaskLogHubOptions,
} from '../../../transports/websocket/index.js';
import { Redis } from 'ioredis';
import { taskKeys, taskScripts } from '../../../transports/websocket/task-logs/redis/scripts.js';
import { LIVENESS_MS } from '../../../transports/websocket/task-logs/redis/redis-hub-adapter.js';
import { taskEntries } from '../../../transports/websocket/task-logs/task-log-hub.js';
import { freePort, sleep, until } from '../../helpers/net.js';
import { hasRedisServer, startRedis, type TestRedis } from '../../helpers/redis.js';
import { range, taskViewer, type TaskViewer } from '../../helpers/task-viewer.js';

const test = suite('redis hub adapter');
let redis: TestRedis;
const cleanup: Array<() => Promise<unknown>> = [];
const FAST = { initialBackoffMs: 20, maxBackoffMs: 100, connectTimeoutMs: 1000 };

async function startHub(options: { adapter?: Partial<RedisHubAdapterOptions>; hub?: TaskLogHubOptions } = {}) {
  const http: Server = createServer();
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const hub = new TaskLogHub({ pingIntervalMs: 0, ...options.hub, adapter: redisHubAdapter({ url: redis.url, policy: FAST, ...options.adapter }) });
  hub.attach(http, { path: '/logs' });
  const events: TaskLogHubEvent[] = [];
  hub.events$.subscribe((e) => events.push(e));
  const base = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/logs`;
  const h = {
    hub,
    events,
    url: (task: string, lastSeq?: number) => `${base}?task=${encodeURIComponent(task)}${lastSeq === undefined ? '' : `&lastSeq=${lastSeq}`}`,
    viewer: async (task: string, lastSeq?: number) => {
      const v = await taskViewer(h.url(task, lastSeq));
      cleanup.push(() => v.close());
      return v;
    },
    /** Both Redis connections connected (the hub's own supervisor). */
    ready: () => until(() => hub.supervisor.whichChildren().filter((c) => c.kind === 'redis' && c.state === 'connected').length === 2, 'both Redis connections connected'),
    async close() {
      await hub.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
  cleanup.push(() => h.close());
  await h.ready();
  return h;
}

/** Until `check()` resolves true (polls; fails after `ms` saying `what`). */
async function untilAsync(check: () => Promise<boolean>, what: string, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A TCP cable to the test's Redis that can be cut (its sockets destroyed, new ones refused) and mended (same port). */
async function redisProxy() {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: NetServer | undefined;
  const mend = () =>
    new Promise<void>((resolve) => {
      server = createNetServer((down) => {
        const up = connect(redis.port, '127.0.0.1');
        for (const [s, other] of [[down, up], [up, down]] as const) {
          sockets.add(s);
          s.on('error', () => {});
          s.on('close', () => {
            sockets.delete(s);
            other.destroy();
          });
        }
        down.pipe(up);
        up.pipe(down);
      });
      server.listen(port, '127.0.0.1', resolve);
    });
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await mend();
  cleanup.push(cut);
  return { url: `redis://127.0.0.1:${port}`, cut, mend };
}

/** A raw ioredis client for a test, disconnected after it. */
function rawClient() {
  const client = new Redis(redis.url);
  cleanup.push(async () => client.disconnect());
  return client;
}

/** `n` lines to `task` from `hub`, not awaited one by one; their outcomes. */
const send = (hub: TaskLogHub, task: string, from: number, to: number) => Promise.all(range(from, to).map((i) => hub.sendLog(task, 'info', `line ${i}`)));
const messages = (v: TaskViewer) => v.messages.map((m) => m.message);

test.before(async () => {
  if (!hasRedisServer()) throw new Error('redis-server is not on PATH (Debian: apt-get install redis-server; .ci/run installs it)');
  redis = await startRedis();
});
test.after.each(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
test.after(async () => {
  await redis.stop();
});

test('redis adapter: lines queued on hub A are flushed in order to a viewer on hub B, then live lines follow; flushed and queued events', async () => {
  const a = await startHub();
  const b = await startHub();
  assert.equal(await send(a.hub, 'q1', 1, 5), ['queued', 'queued', 'queued', 'queued', 'queued']);
  assert.is(a.hub.queuedCount('q1'), 5);
  assert.equal(a.events.filter((e) => e.type === 'queued').map((e) => (e as { queued: number }).queued), [1, 2, 3, 4, 5]);
  const v = await b.viewer('q1');
  await v.has(5);
  assert.equal(v.seqs(), [1, 2, 3, 4, 5]);
  assert.ok(b.events.some((e) => e.type === 'flushed' && e.count === 5));
  assert.ok(b.hub.isConnected('q1'));
  assert.not.ok(a.hub.isConnected('q1'), 'isConnected is about this process');
  assert.equal(await send(a.hub, 'q1', 6, 8), ['sent', 'sent', 'sent'], 'a viewer on another hub: sent');
  await v.has(8);
  assert.equal(v.seqs(), range(1, 8));
  assert.equal(messages(v), range(1, 8).map((i) => `line ${i}`));
  const m = v.messages[0]!;
  assert.equal(Object.keys(m), ['type', 'taskId', 'timestamp', 'level', 'message', 'progress', 'finished', 'seq'], 'the in-process hub’s shape, seq last');
});

test('redis adapter: two hubs logging to one task never reuse a seq; each hub’s lines keep their order', async () => {
  const a = await startHub();
  const b = await startHub();
  const v = await a.viewer('shared');
  await Promise.all([send(a.hub, 'shared', 1, 40), send(b.hub, 'shared', 101, 140)]);
  await v.has(80);
  assert.equal(v.seqs(), range(1, 80), 'seq 1..80, each once');
  const fromA = messages(v).filter((t) => Number(t.split(' ')[1]) <= 40);
  const fromB = messages(v).filter((t) => Number(t.split(' ')[1]) > 100);
  assert.equal(fromA, range(1, 40).map((i) => `line ${i}`));
  assert.equal(fromB, range(101, 140).map((i) => `line ${i}`));
});

test('redis adapter: the 100 -> 50 rule holds across hubs: 101 lines from A with no viewer anywhere, a viewer on B gets the newest 50; A emits dropped 51', async () => {
  const a = await startHub();
  const b = await startHub();
  await send(a.hub, 'flood', 1, 101);
  assert.equal(a.events.filter((e) => e.type === 'dropped'), [{ type: 'dropped', taskId: 'flood', count: 51, reason: 'overflow' }]);
  assert.is(a.hub.queuedCount('flood'), 50);
  const v = await b.viewer('flood');
  await v.has(50);
  await sleep(50);
  assert.equal(v.seqs(), range(52, 101));
});

test('redis adapter: a viewer that moves from hub A to hub B with lastSeq gets exactly the lines after it', async () => {
  const a = await startHub();
  const b = await startHub();
  const first = await a.viewer('move');
  await send(a.hub, 'move', 1, 10);
  await first.has(10);
  await first.close();
  await until(() => !a.hub.isConnected('move'), 'A noticed the viewer left');
  await send(a.hub, 'move', 11, 20);
  const again = await b.viewer('move', 6);
  await again.has(14);
  await send(b.hub, 'move', 21, 22);
  await again.has(16);
  await sleep(50);
  assert.equal(again.seqs(), range(7, 22));
});

test('redis adapter: a viewer that goes away gives back what it did not get: the next viewer (no lastSeq) gets the lines sent since, not the old ones', async () => {
  const a = await startHub();
  const b = await startHub();
  const first = await a.viewer('back');
  await send(b.hub, 'back', 1, 5);
  await first.has(5);
  first.ws.terminate();
  await until(() => !a.hub.isConnected('back'), 'A noticed');
  assert.equal(await send(b.hub, 'back', 6, 9), ['queued', 'queued', 'queued', 'queued']);
  const next = await b.viewer('back');
  await next.has(4);
  await sleep(50);
  assert.equal(next.seqs(), [6, 7, 8, 9]);
});

test('redis adapter: a second viewer of a task on another hub replaces the first (4000); lines go to the new one', async () => {
  const a = await startHub();
  const b = await startHub();
  const old = await a.viewer('rep');
  await send(a.hub, 'rep', 1, 3);
  await old.has(3);
  const now = await b.viewer('rep', 3);
  assert.equal(await old.closed, { code: 4000, reason: 'replaced by a newer viewer' });
  await until(() => a.events.some((e) => e.type === 'disconnected' && e.reason === 'replaced'), 'A’s disconnected event');
  await send(a.hub, 'rep', 4, 6);
  await now.has(3);
  assert.equal(now.seqs(), [4, 5, 6]);
  assert.equal(old.seqs(), [1, 2, 3]);
});

test('redis adapter: disconnect(taskId) on one hub closes the task’s viewer on another (1000) and drops its queue', async () => {
  const a = await startHub();
  const b = await startHub();
  const v = await a.viewer('gone');
  await send(a.hub, 'gone', 1, 2);
  await v.has(2);
  await b.hub.disconnect('gone');
  assert.equal(await v.closed, { code: 1000, reason: 'disconnected' });
  await until(() => !a.hub.isConnected('gone'), 'A forgot the viewer');
  assert.equal(await send(a.hub, 'gone', 1, 1), ['queued']);
  const fresh = await b.viewer('gone');
  await fresh.has(1);
  assert.equal(fresh.seqs(), [1], 'a new task: seq starts again at 1, also for a producer on another hub that knew seq 2');
});

test('redis adapter: while the viewer’s process cannot hear Redis its task keeps up to 1000 lines (not 100 -> 50); when its subscriber is back it catches the viewer up, none twice', async () => {
  const a = await startHub();
  const b = await startHub();
  const v = await a.viewer('deaf');
  await send(b.hub, 'deaf', 1, 5);
  await v.has(5);
  const subscriber = a.hub.supervisor.connection('redis:subscriber');
  subscriber.command('DISCONNECT');
  await until(() => subscriber.state === 'disconnected', 'A’s subscriber down');
  assert.equal(new Set(await send(b.hub, 'deaf', 6, 155)), new Set(['queued']), 'nobody hears the channel: queued');
  assert.equal(b.events.filter((e) => e.type === 'dropped'), [], 'the task has an owner: nothing dropped at 100');
  assert.is(v.messages.length, 5);
  subscriber.command('CONNECT');
  await v.has(155);
  await send(b.hub, 'deaf', 156, 157);
  await v.has(157);
  await sleep(50);
  assert.equal(v.seqs(), range(1, 157));
});

test('redis adapter: the two Redis connections are supervised children of the hub’s supervisor; their states show on events$ as Redis goes and comes back', async () => {
  const supervisor: Supervisor = createSupervisor({ id: 'app' });
  cleanup.push(() => supervisor.shutdown());
  const changes: string[] = [];
  supervisor.events$.subscribe((e: ConnectionLogEvent) => {
    if (e.type === 'EVENT_STATE_CHANGE') changes.push(`${e.connectionId} ${e.data.from}->${e.data.to}`);
  });
  const h = await startHub({ hub: { supervisor }, adapter: { id: 'shared-redis' } });
  assert.equal(
    supervisor.whichChildren().map((c) => [c.id, c.kind, c.state]),
    [
      ['shared-redis:commands', 'redis', 'connected'],
      ['shared-redis:subscriber', 'redis', 'connected'],
    ],
  );
  assert.ok(changes.includes('shared-redis:commands connecting->connected'));
  assert.ok(changes.includes('shared-redis:subscriber connecting->connected'));
  changes.length = 0;
  await redis.kill();
  await until(() => changes.includes('shared-redis:commands connected->reconnecting') && changes.includes('shared-redis:subscriber connected->reconnecting'), 'both reconnecting');
  await redis.start();
  await h.ready();
  assert.ok(changes.includes('shared-redis:commands connecting->connected'));
  await h.close();
  assert.equal(supervisor.whichChildren(), [], 'close() stops the adapter’s connections on a supervisor it does not own');
});

test('redis adapter: lines sent while Redis is down wait and are delivered, in order, once it is back; past maxPending one is refused (RedisBacklogFullError)', async () => {
  const a = await startHub({ adapter: { maxPending: 30 } });
  const b = await startHub();
  const v = await b.viewer('down');
  await send(a.hub, 'down', 1, 3);
  await v.has(3);
  await redis.kill();
  await until(() => a.hub.supervisor.whichChildren().every((c) => c.state !== 'connected'), 'A saw Redis go');
  const waiting = send(a.hub, 'down', 4, 33); // 30 wait
  const refused = await a.hub.sendLog('down', 'info', 'one too many').then(() => undefined, (e: unknown) => e);
  assert.instance(refused, RedisBacklogFullError);
  assert.is((refused as RedisBacklogFullError).code, 'ERR_REDIS_BACKLOG_FULL');
  assert.is((refused as RedisBacklogFullError).limit, 30);
  await redis.start();
  await waiting;
  await v.has(30 + 3, 15_000);
  await sleep(50);
  // Redis came back empty (no persistence): the seq goes on from what the hubs knew, nothing twice.
  assert.equal(messages(v), range(1, 33).map((i) => `line ${i}`));
  assert.equal(v.seqs(), range(1, 33));
});

test('redis scripts: a batch of lines sent again with its line ids (the reply was lost with the link) is not logged twice; others go on', async () => {
  const client = rawClient();
  const scripts = taskScripts({ maxQueued: 100, keep: 50, maxSent: 100, ownerCap: 1000, ttlMs: 60_000, liveMs: 10_000 });
  const { meta, lines } = taskKeys('t:', 'again');
  const head = (n: number) => `{"message":"line ${n}","seq":`;
  const batch = (ids: number[], from: number) => client.call('EVAL', scripts.log.lua, 2 * ids.length, ...ids.flatMap(() => [meta, lines]), 'p:me', 't:proc:', ...ids.flatMap((id, k) => [head(from + k), 0, id])) as Promise<number[]>;
  assert.equal(await batch([1_000_001, 1_000_002], 1), [1, 0, 1, 0, 2, 0, 2, 0], 'seq 1 and 2, nobody subscribed: queued 1, 2');
  assert.equal(await batch([1_000_001, 1_000_002], 1), [-1, 0, 0, 0, -1, 0, 0, 0], 'the same ids again: already logged');
  assert.equal(await batch([2_000_001], 3), [3, 0, 3, 0]);
  const entries = (await client.xrange(lines, '-', '+')).map(([id, [, line]]) => `${id} ${line}`);
  assert.equal(entries, ['1-0 {"message":"line 1","seq":1}', '2-0 {"message":"line 2","seq":2}', '3-0 {"message":"line 3","seq":3}']);
});

test('redis adapter: a viewer whose lastSeq is above the task’s seq (made up, or from before hub.disconnect) gets the queue and every live line, as in one process', async () => {
  const a = await startHub();
  const b = await startHub();
  assert.equal(await send(a.hub, 'ahead', 1, 3), ['queued', 'queued', 'queued']);
  const v = await b.viewer('ahead', 50);
  await v.has(3);
  assert.equal(await send(a.hub, 'ahead', 4, 5), ['sent', 'sent']);
  await v.has(5);
  assert.equal(v.seqs(), range(1, 5));
  await a.hub.disconnect('ahead');
  assert.equal(await v.closed, { code: 1000, reason: 'disconnected' });
  assert.equal(await send(a.hub, 'ahead', 1, 1), ['queued']);
  const again = await b.viewer('ahead', 5); // its lastSeq from before the task was dropped
  await again.has(1);
  assert.equal(await send(a.hub, 'ahead', 2, 3), ['sent', 'sent']);
  await again.has(3);
  await sleep(50);
  assert.equal(again.seqs(), [1, 2, 3]);
  assert.equal(messages(again), ['line 1', 'line 2', 'line 3']);
});

test('redis adapter: after hub.disconnect every producer numbers the task from 1 again, even one that remembers a higher seq, and a batch of several lines too', async () => {
  const a = await startHub();
  const b = await startHub();
  const c = await startHub();
  await send(a.hub, 'renum', 1, 5); // A remembers seq 5
  await send(c.hub, 'renum', 6, 9); // C remembers seq 9
  await b.hub.disconnect('renum');
  await send(a.hub, 'renum', 1, 2); // one turn: one run of the log script
  await send(c.hub, 'renum', 3, 3);
  const v = await b.viewer('renum');
  await v.has(3);
  await sleep(50);
  assert.equal(v.seqs(), [1, 2, 3]);
  assert.equal(messages(v), ['line 1', 'line 2', 'line 3']);
});

test('redis scripts: the stream keeps every line the owner’s socket has not taken: a release after 300 lines sent gives all the others back; the next line applies the 100 -> 50 rule', async () => {
  const client = rawClient();
  const listener = rawClient();
  const scripts = taskScripts({ maxQueued: 100, keep: 50, maxSent: 100, ownerCap: 1000, ttlMs: 60_000, liveMs: 10_000 });
  const { meta, lines, channel } = taskKeys('keep:', 'slow');
  await listener.subscribe(channel); // the owner's process hears the channel
  const head = (n: number) => `{"message":"line ${n}","seq":`;
  const log = (from: number, to: number) => {
    const ns = range(from, to);
    return client.call('EVAL', scripts.log.lua, 2 * ns.length, ...ns.flatMap(() => [meta, lines]), 'p:me', 'keep:proc:', ...ns.flatMap((n) => [head(n), 0, 0])) as Promise<number[]>;
  };
  assert.equal(await client.call('EVAL', scripts.claim.lua, 2, meta, lines, 'p1:v1', -1, 'take', 0, 'keep:proc:'), [0, 0, 0]);
  assert.is(await client.exists('keep:proc:p1'), 1, 'the claimer’s process is alive');
  for (let from = 1; from <= 300; from += 100) {
    const r = await log(from, from + 99);
    assert.ok(r.every((x, i) => i % 4 !== 1 || x === 1), 'each line sent');
  }
  // Its socket took lines up to 10 and then failed.
  assert.is(await client.call('EVAL', scripts.release.lua, 2, meta, lines, 'p1:v1', 10), 290);
  assert.is(await client.xlen(lines), 300);
  await listener.unsubscribe(channel);
  assert.equal(await log(301, 301), [301, 0, 50, 241], 'queued past 100: the newest 50 stay, 241 dropped');
  const kept = (await client.xrange(lines, '(10', '+')).map(([id]) => Number.parseInt(id, 10));
  assert.equal(kept, range(252, 301));
});

test('redis adapter: the lines a viewer took are let go of: after 600 live lines its task’s stream holds about the newest 100, not all', async () => {
  const client = rawClient();
  const a = await startHub({ adapter: { keyPrefix: 'mark:' } });
  const v = await a.viewer('long');
  await send(a.hub, 'long', 1, 1);
  await v.has(1);
  await send(a.hub, 'long', 2, 600);
  await v.has(600);
  const { lines } = taskKeys('mark:', 'long');
  await untilAsync(async () => (await client.xlen(lines)) < 300, 'the stream trimmed to what the viewer had not taken and the newest 100');
  assert.ok((await client.xlen(lines)) >= 100, 'the newest 100 stay for lastSeq resume');
});

test('redis adapter: with an adapter the hub forgets a task once its viewer left (its queue lives in Redis)', async () => {
  const a = await startHub();
  for (let i = 0; i < 20; i++) {
    const v = await a.viewer(`many-${i}`);
    await send(a.hub, `many-${i}`, 1, 1);
    await v.has(1);
    if (i % 2 === 0) await v.close();
    else v.ws.terminate();
  }
  const other = await a.viewer('many-x');
  const replacing = await a.viewer('many-x'); // replaced: the task stays, with its new viewer
  assert.equal(await other.closed, { code: 4000, reason: 'replaced by a newer viewer' });
  await until(() => a.hub[taskEntries] === 1, `one task entry left (${a.hub[taskEntries]})`);
  await replacing.close();
  await until(() => a.hub[taskEntries] === 0, `no task entry left (${a.hub[taskEntries]})`);
});

test('redis adapter: an owner whose process stopped refreshing its liveness key is no owner: the 100 -> 50 rule applies again; the viewer, back, gets the newest 50', async () => {
  const client = rawClient();
  const live = { keyPrefix: 'live:', [LIVENESS_MS]: 600 };
  const cable = await redisProxy();
  const a = await startHub({ adapter: { ...live, url: cable.url } }); // A reaches Redis through a cable we can cut
  const b = await startHub({ adapter: live });
  const v = await a.viewer('orphan');
  await send(b.hub, 'orphan', 1, 5);
  await v.has(5);
  await cable.cut(); // A is as good as dead to Redis: no refresh, no subscription
  await untilAsync(async () => (await client.keys('live:proc:*')).length === 1, 'A’s liveness key gone, B’s left');
  await send(b.hub, 'orphan', 6, 106);
  assert.equal(b.events.filter((e) => e.type === 'dropped'), [{ type: 'dropped', taskId: 'orphan', count: 51, reason: 'overflow' }]);
  assert.is(v.messages.length, 5);
  await cable.mend();
  await v.has(55);
  await sleep(50);
  assert.equal(v.seqs(), [...range(1, 5), ...range(57, 106)]);
});

test('redis scripts: a task Redis lost (owner ?) counts as owned for the liveness time only, then the 100 -> 50 rule applies', async () => {
  const client = rawClient();
  const scripts = taskScripts({ maxQueued: 100, keep: 50, maxSent: 100, ownerCap: 1000, ttlMs: 60_000, liveMs: 1000 });
  const { meta, lines } = taskKeys('lost:', 'gone');
  const head = (n: number) => `{"message":"line ${n}","seq":`;
  const log = (ns: number[], known: number) => client.call('EVAL', scripts.log.lua, 2 * ns.length, ...ns.flatMap(() => [meta, lines]), 'p:me', 'lost:proc:', ...ns.flatMap((n) => [head(n), known, 0])) as Promise<number[]>;
  assert.equal(await log([11], 10), [11, 0, 1, 0], 'a producer knew seq 10: Redis lost the task');
  assert.is(await client.hget(meta, 'owner'), '?');
  const r = await log(range(12, 112), 11);
  assert.equal(r.filter((_, i) => i % 4 === 3), range(12, 112).map(() => 0), 'owned for now: 102 queued, none dropped');
  await sleep(1100);
  assert.equal(await log([113], 112), [113, 0, 50, 53], 'past the liveness time: no owner, the newest 50 stay');
});

test('redis adapter: every line refreshes its task’s TTL (keys expire ttlMs after the last line)', async () => {
  const client = rawClient();
  const a = await startHub({ adapter: { keyPrefix: 'ttl:', ttlMs: 400 } });
  await send(a.hub, 'ttl', 1, 1);
  await sleep(250);
  await send(a.hub, 'ttl', 2, 2);
  const { meta, lines } = taskKeys('ttl:', 'ttl');
  const [m, l] = [await client.pttl(meta), await client.pttl(lines)];
  assert.ok(m > 300 && l > 300, `refreshed by the second line: ${m}, ${l}`);
});

test('redis adapter: a line Redis refuses (its task’s key holds another type) rejects alone; the other lines of its batch are logged', async () => {
  const client = rawClient();
  const a = await startHub({ adapter: { keyPrefix: 'bad:' } });
  await client.set(taskKeys('bad:', 'wrongtype').meta, 'not a hash');
  const outcomes = await Promise.allSettled([a.hub.sendLog('fine-1', 'info', 'x'), a.hub.sendLog('wrongtype', 'info', 'y'), a.hub.sendLog('fine-2', 'info', 'z')]);
  assert.equal(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
  const error = (outcomes[1] as PromiseRejectedResult).reason as Error;
  assert.instance(error, RedisCommandError);
  assert.match(error.message, /WRONGTYPE/);
  assert.is(await client.xlen(taskKeys('bad:', 'fine-2').lines), 1);
  assert.is(await client.exists(taskKeys('bad:', 'wrongtype').lines), 0, 'nothing of the refused line was written');
});

test('redis adapter: a line published while nobody owns the task (a process subscribed, no claim yet) is queued, not sent', async () => {
  const listener = rawClient();
  const a = await startHub({ adapter: { keyPrefix: 'pub:' } });
  await listener.subscribe(taskKeys('pub:', 'watched').channel);
  assert.equal(await send(a.hub, 'watched', 1, 2), ['queued', 'queued']);
  assert.equal(a.events.filter((e) => e.type === 'queued').map((e) => (e as { queued: number }).queued), [1, 2]);
});

test('redis adapter: a Redis connection that failed for good (refused credentials) closes the viewers (1011) instead of leaving them silent', async () => {
  const http: Server = createServer();
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const hub = new TaskLogHub({ pingIntervalMs: 0, adapter: redisHubAdapter({ url: `redis://nobody:wrong@127.0.0.1:${redis.port}`, policy: FAST }) });
  hub.attach(http, { path: '/logs' });
  cleanup.push(async () => {
    await hub.close();
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
  });
  await until(() => hub.supervisor.whichChildren().filter((c) => c.kind === 'redis' && c.state === 'failed').length === 2, 'both connections failed');
  const v = await taskViewer(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/logs?task=nobody`);
  cleanup.push(() => v.close());
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([v.closed, new Promise((r) => (timer = setTimeout(() => r('still open'), 3000)))]);
  clearTimeout(timer);
  assert.equal(closed, { code: 1011, reason: 'send failed' });
});

test('redis adapter: a viewer already watching is closed (1011) when its process’s Redis connection fails for good (Redis now wants a password)', async () => {
  const admin = rawClient();
  const a = await startHub();
  const v = await a.viewer('locked-out');
  await send(a.hub, 'locked-out', 1, 1);
  await v.has(1);
  await admin.config('SET', 'requirepass', 'sesame');
  try {
    await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await admin.client('KILL', 'TYPE', 'pubsub');
    await until(() => a.hub.supervisor.whichChildren().some((c) => c.kind === 'redis' && c.state === 'failed'), 'a Redis connection failed');
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([v.closed, new Promise((r) => (timer = setTimeout(() => r('still open'), 3000)))]);
    clearTimeout(timer);
    assert.equal(closed, { code: 1011, reason: 'send failed' });
  } finally {
    await admin.config('SET', 'requirepass', '');
  }
});

test('redis adapter: bad input is a TypeError or RangeError naming the option', () => {
  const url = 'redis://127.0.0.1:1';
  const cases: Array<[() => unknown, typeof TypeError | typeof RangeError, RegExp]> = [
    [() => redisHubAdapter({ url: 'http://127.0.0.1:6379' }), TypeError, /options\.url must be a redis:\/\/ or rediss:\/\/ URL, got "http:\/\/…"$/],
    [() => redisHubAdapter({ url: 'http://user:secret@127.0.0.1' }), TypeError, /^(?!.*secret)/],
    [() => redisHubAdapter({ url: 'redis:nohost' }), TypeError, /options\.url/],
    [() => redisHubAdapter({}), TypeError, /exactly one of options\.url .* neither/],
    [() => redisHubAdapter({ url, redis: { duplicate() {} } as never }), TypeError, /both/],
    [() => redisHubAdapter({ url, keyPrefix: 'my app:' }), RangeError, /options\.keyPrefix must not contain whitespace/],
    [() => redisHubAdapter({ url, keyPrefix: 'tab\t' }), RangeError, /options\.keyPrefix/],
    [() => redisHubAdapter({ url, keyPrefix: 7 as never }), TypeError, /options\.keyPrefix must be a string/],
    [() => redisHubAdapter({ url, maxPending: 0 }), RangeError, /options\.maxPending/],
    [() => redisHubAdapter({ url, ttlMs: -1 }), RangeError, /options\.ttlMs/],
    [() => redisHubAdapter({ url, ttlMs: 1000.5 }), RangeError, /options\.ttlMs must be an integer/],
    [() => redisHubAdapter({ url, ttlMs: 2 ** 31 }), RangeError, /options\.ttlMs/],
    [() => redisHubAdapter({ url, policy: { maxRetries: -1 } }), RangeError, /options\.policy\.maxRetries/],
    [() => redisHubAdapter(null as never), TypeError, /options/],
    [() => new TaskLogHub({ adapter: {} as never }), TypeError, /options\.adapter must be a TaskLogHubAdapter/],
  ];
  for (const [fn, type, re] of cases) assert.throws(fn, (e: Error) => e instanceof type && re.test(e.message), String(fn));
});

test('redis adapter: an adapter binds to one hub only', async () => {
  const adapter = redisHubAdapter({ url: redis.url, policy: FAST });
  const hub = new TaskLogHub({ adapter });
  cleanup.push(() => hub.close());
  assert.throws(() => new TaskLogHub({ adapter }), (e: Error) => e instanceof TypeError && /already bound/.test(e.message));
});

test.run();
