/**
 * Connections that come and go free what they held (issue 11, defect 3): a
 * temporary child that exits by itself kept its listener subscription, its
 * state map entry and its handle (about 6–12 KB each).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createSupervisor, silentLogger } from '../../actors/supervisor.js';
import { SimulatedClock } from 'xstate';
import { mockTransport, type MockTransport } from '../../transports/mock/mock.transport.js';
import { flush } from '../../transports/mock/flush.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = async () => {
  for (let i = 0; i < 3; i++) {
    await flush();
    gc();
  }
  return process.memoryUsage().heapUsed;
};

const test = suite('memory');

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

test('memory: 10,000 accepted connections come and go: heap after GC within 5 % of where it began (issue 11)', async () => {
  const sup = createSupervisor({ logger: silentLogger });
  let states: Record<string, string> = {};
  sup.state$.subscribe((m) => (states = m));
  const cycle = async (from: number, n: number) => {
    for (let i = from; i < from + n; i += 100) {
      // 100 at a time, as a busy server would see them.
      const handles = [];
      const peers = [];
      for (let j = i; j < i + 100; j++) {
        const peer = mockTransport({ kind: 'unix' }); // one per accepted socket
        const link = await peer.connect({ signal: new AbortController().signal });
        const h = sup.adopt(link, { id: `conn-${j}`, kind: 'unix' });
        h.data$.subscribe(() => {});
        handles.push(h);
        peers.push(peer);
      }
      await flush();
      for (const h of handles) await h.send('bye');
      // Each peer goes away by itself (not stopChild): the case that leaked.
      for (const peer of peers) peer.drop('peer left');
      await within(Promise.all(handles.map((h) => h.closed)), 5000, 'every handle closed after its peer left');
    }
  };
  await cycle(0, 1000); // warm up: JIT, XState's caches
  const before = await heap();
  await cycle(1000, 10_000);
  const after = await heap();
  assert.equal(sup.whichChildren(), []);
  assert.equal(states, {});
  const growth = (after - before) / before;
  assert.ok(growth < 0.05, `heap grew ${(growth * 100).toFixed(1)} % (${before} → ${after} bytes)`);
  await sup.shutdown();
});

test('memory: children started, restarted (at once and after backoff) and stopped, 5,000 of them: heap after GC within 5 % of where it began (issue 15)', async () => {
  const clock = new SimulatedClock();
  const sup = createSupervisor({ clock, logger: silentLogger, maxRestarts: 1000, periodMs: 100 });
  const cycle = async (from: number, n: number) => {
    for (let i = from; i < from + n; i += 100) {
      const ids: string[] = [];
      const mocks: MockTransport[] = [];
      for (let j = i; j < i + 100; j++) {
        const mock = mockTransport();
        sup.startChild({ id: `c${j}`, transport: mock, policy: { maxRetries: 0 } });
        ids.push(`c${j}`);
        mocks.push(mock);
      }
      await flush();
      // Every one fails and comes back after its restart backoff (a delayed restart, its timer and token; an
      // exit event named after a child never seen before), ten are restarted by hand, then all are stopped.
      for (const mock of mocks) mock.drop('lost');
      await flush();
      clock.increment(200);
      await flush();
      for (const id of ids.slice(10, 20)) sup.restartChild(id);
      await flush();
      await within(Promise.all(ids.map((id) => sup.stopChild(id))), 5000, 'every child stopped');
    }
  };
  await cycle(0, 2000); // warm up: JIT, XState's caches
  const before = await heap();
  await cycle(2000, 5000);
  const after = await heap();
  assert.equal(sup.whichChildren(), []);
  const growth = (after - before) / before;
  assert.ok(growth < 0.05, `heap grew ${(growth * 100).toFixed(1)} % (${before} → ${after} bytes)`);
  await sup.shutdown();
});

test.run();
