/**
 * TaskLogHub past one process (issue 16 §2): three hub processes
 * (test/fixtures/redis-hub.ts, each a TaskLogHub with the Redis adapter on
 * its own port) on one real redis-server, real `ws` viewers in this process.
 * Cross-process delivery and seq order; two producers on one task; a viewer
 * moving from A to B with lastSeq; the 100 -> 50 rule across processes;
 * Redis killed and restarted mid-stream; a hub process killed while the
 * others keep serving.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { until } from '../../helpers/net.js';
import { hasRedisServer, startRedis, type TestRedis } from '../../helpers/redis.js';
import { spawnLines, tsxArgs, type Spawned } from '../../helpers/spawn.js';
import { range, taskViewer, type TaskViewer } from '../../helpers/task-viewer.js';

const test = suite('redis cluster');
let redis: TestRedis;
let A: HubProcess;
let B: HubProcess;
let C: HubProcess;
const viewers: TaskViewer[] = [];

interface HubProcess {
  name: string;
  port: number;
  proc: Spawned;
  url(task: string, lastSeq?: number): string;
  /** `{"cmd":"send"}`: lines "<task> line <i>" for i in from..to (everyMs 0: all at once). */
  send(taskId: string, from: number, to: number, everyMs?: number): void;
  /** The next line matching `re` not taken before, parsed. */
  next(re: RegExp, ms?: number): Promise<Record<string, unknown>>;
  /** Every line so far matching `re`, parsed. */
  all(re: RegExp): Array<Record<string, unknown>>;
}

async function hubProcess(name: string): Promise<HubProcess> {
  const proc = spawnLines(process.execPath, tsxArgs('test/fixtures/redis-hub.ts'), { stdin: true, env: { ...process.env, REDIS_URL: redis.url } });
  const taken = new Set<number>();
  const find = (re: RegExp) => proc.lines.findIndex((l, i) => !taken.has(i) && re.test(l));
  const h: HubProcess = {
    name,
    port: 0,
    proc,
    url: (task, lastSeq) => `ws://127.0.0.1:${h.port}/logs?task=${encodeURIComponent(task)}${lastSeq === undefined ? '' : `&lastSeq=${lastSeq}`}`,
    send: (taskId, from, to, everyMs = 0) => void proc.child.stdin!.write(`${JSON.stringify({ cmd: 'send', taskId, from, to, everyMs })}\n`),
    async next(re, ms = 20_000) {
      await until(() => find(re) !== -1 || proc.child.exitCode !== null, `hub ${name}: a line matching ${re}`, ms).catch((e: Error) => {
        throw new Error(`${e.message}; stdout: ${proc.lines.join(' | ')}; stderr: ${proc.stderr()}`);
      });
      const i = find(re);
      if (i === -1) throw new Error(`hub ${name} exited before ${re}: ${proc.stderr()}`);
      taken.add(i);
      return JSON.parse(proc.lines[i]!) as Record<string, unknown>;
    },
    all: (re) => proc.lines.filter((l) => re.test(l)).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
  h.port = (await h.next(/"port"/)).port as number;
  return h;
}

async function exit(h: HubProcess) {
  if (h.proc.child.exitCode !== null || h.proc.child.signalCode !== null) return;
  h.proc.child.stdin!.write('{"cmd":"exit"}\n');
  const code = await Promise.race([h.proc.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
  if (code === 'hung') await h.proc.kill('SIGKILL');
}

async function view(h: HubProcess, task: string, lastSeq?: number) {
  const v = await taskViewer(h.url(task, lastSeq));
  viewers.push(v);
  return v;
}

/**
 * A viewer on `h` that the hub has caught up (subscribed, claimed): a line
 * sent first (`<task> line 0`) has reached it. Until then lines sent
 * elsewhere are queued, and the 100 -> 50 rule applies to them.
 */
async function ready(h: HubProcess, task: string) {
  const v = await view(h, task);
  h.send(task, 0, 0);
  await v.has(1);
  return v;
}

const texts = (v: TaskViewer) => v.messages.map((m) => m.message);
const lines = (task: string, from: number, to: number) => range(from, to).map((i) => `${task} line ${i}`);
/** True when `xs` goes up strictly (no seq twice, none out of order). */
const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

test.before(async () => {
  if (!hasRedisServer()) throw new Error('redis-server is not on PATH (Debian: apt-get install redis-server; .ci/run installs it)');
  redis = await startRedis();
  [A, B, C] = await Promise.all([hubProcess('A'), hubProcess('B'), hubProcess('C')]);
});
test.after.each(async () => {
  await Promise.all(viewers.splice(0).map((v) => v.close()));
});
test.after(async () => {
  await Promise.all([A, B, C].filter(Boolean).map(exit));
  await redis.stop();
});

test('cluster: lines queued on process A reach a viewer that connects to process B, then live ones, in seq order', async () => {
  A.send('two', 1, 20);
  assert.equal((await A.next(/"done":"two"/)).queued, 20);
  const v = await view(B, 'two');
  await v.has(20);
  A.send('two', 21, 220);
  assert.equal((await A.next(/"done":"two"/)).sent, 200);
  await v.has(220);
  assert.equal(v.seqs(), range(1, 220));
  assert.equal(texts(v), lines('two', 1, 220));
});

test('cluster: three processes: producers on A and B log to one task, its viewer is on C; every seq once, each producer’s order kept', async () => {
  const v = await ready(C, 'three');
  A.send('three', 1, 150);
  B.send('three', 1001, 1150);
  await Promise.all([A.next(/"done":"three"/), B.next(/"done":"three"/)]);
  await v.has(301);
  assert.equal(v.seqs(), range(1, 301));
  const n = (t: string) => Number(t.split(' ').at(-1));
  assert.equal(texts(v).filter((t) => n(t) >= 1 && n(t) <= 150), lines('three', 1, 150));
  assert.equal(texts(v).filter((t) => n(t) > 1000), lines('three', 1001, 1150));
});

test('cluster: a viewer that moves from A to B mid-stream with lastSeq gets exactly the lines after it', async () => {
  const first = await view(A, 'move');
  C.send('move', 1, 200, 3);
  await first.has(40);
  await first.close();
  const lastSeq = first.lastSeq();
  const second = await view(B, 'move', lastSeq);
  const done = await C.next(/"done":"move"/, 30_000);
  assert.equal(done.failed, []);
  await second.has(200 - lastSeq);
  assert.equal(second.seqs()[0], lastSeq + 1);
  assert.equal([...first.seqs(), ...second.seqs()], range(1, 200), 'together: every line once, in order');
  assert.equal([...texts(first), ...texts(second)], lines('move', 1, 200));
});

test('cluster: the 100 -> 50 rule across processes: 101 lines on A with no viewer anywhere, A says 51 dropped, a viewer on C gets the newest 50', async () => {
  A.send('flood', 1, 101);
  await A.next(/"done":"flood"/);
  assert.equal(await A.next(/"dropped".*"flood"/), { dropped: 51, taskId: 'flood' });
  assert.equal(A.all(/"dropped"/).length, 1, 'nothing else was dropped in this run');
  const v = await view(C, 'flood');
  await v.has(50);
  assert.equal(v.seqs(), range(52, 101));
  assert.equal(texts(v), lines('flood', 52, 101));
});

test('cluster: Redis killed and restarted (same port, empty) mid-stream: the lines sent meanwhile are delivered after, none twice, none lost', async () => {
  const v = await view(B, 'outage');
  A.send('outage', 1, 200, 5);
  await v.has(30);
  await redis.kill();
  await A.next(/"state":"redis:commands","to":"reconnecting"/);
  await B.next(/"state":"redis:subscriber","to":"reconnecting"/);
  const during = v.messages.length;
  await new Promise((r) => setTimeout(r, 400)); // A keeps logging: its lines wait
  assert.is(v.messages.length, during, 'nothing reaches the viewer while Redis is down');
  await redis.start();
  const done = await A.next(/"done":"outage"/, 30_000);
  assert.equal(done.failed, [], 'no sendLog rejected');
  await v.has(200, 20_000);
  assert.ok(increasing(v.seqs()), `seqs go up: ${v.seqs().join(',')}`);
  assert.equal(texts(v), lines('outage', 1, 200));
  // Every process is back on Redis (both connections of each).
  for (const h of [A, B, C]) {
    await h.next(/"state":"redis:commands","to":"connected"/);
    await h.next(/"state":"redis:subscriber","to":"connected"/);
  }
});

test('cluster: a hub process killed: the others keep serving, and its viewer reconnects to another with lastSeq', async () => {
  const onA = await view(A, 'killed');
  const onB = await view(B, 'alive');
  C.send('killed', 1, 10);
  C.send('alive', 1, 10);
  await Promise.all([onA.has(10), onB.has(10)]);
  await A.proc.kill('SIGKILL');
  const closed = await onA.closed;
  assert.is(closed.code, 1006, 'the socket just went');
  C.send('killed', 11, 20);
  C.send('alive', 11, 20);
  await onB.has(20);
  assert.equal(onB.seqs(), range(1, 20));
  const moved = await view(B, 'killed', onA.lastSeq());
  await moved.has(10);
  assert.equal(moved.seqs(), range(11, 20));
  B.send('killed', 21, 22);
  await moved.has(12);
  assert.equal(moved.seqs(), range(11, 22));
});

test.run();
