/** The manager's small parts: the latency histogram (fixed memory) and the token bucket, on a SimulatedClock. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimulatedClock } from 'xstate';
import { seededRandom } from '../../../actors/index.js';
import { LatencyHistogram } from '../../../transports/apigateway/manager/metrics.js';
import { TokenBucket } from '../../../transports/apigateway/token-bucket.js';

const test = suite('apigateway manager parts');

test('histogram: p50 and p99 within 5 % of the exact quantiles, over six decades', () => {
  const random = seededRandom(1);
  const values = Array.from({ length: 20_000 }, () => Math.pow(10, -2 + 6 * random())); // 0.01 ms .. 10 s
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.99]) {
    const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
    const got = h.quantile(q);
    assert.ok(Math.abs(got - exact) / exact < 0.05, `q${q}: ${got} vs ${exact}`);
  }
  assert.is(h.summary().count, 20_000);
});

test('histogram: empty is zeros; zero, negative and huge values land in the end buckets; quantiles stay within min..max', () => {
  const h = new LatencyHistogram();
  assert.equal(h.summary(), { count: 0, p50: 0, p99: 0, max: 0 });
  h.record(0);
  h.record(-3);
  h.record(1e12);
  assert.equal(h.summary(), { count: 3, p50: 0, p99: 1e12, max: 1e12 });
  const one = new LatencyHistogram();
  one.record(7.3);
  assert.equal(one.summary(), { count: 1, p50: 7.3, p99: 7.3, max: 7.3 });
});

test('token bucket: a burst, then one token per 1/rate s; waiting callers are served in order', () => {
  const clock = new SimulatedClock();
  const bucket = new TokenBucket(100, 2, () => clock.now());
  assert.equal([bucket.take(), bucket.take()], [0, 0], 'the burst');
  assert.equal([bucket.take(), bucket.take(), bucket.take()], [10, 20, 30], 'each reserves the next token');
  clock.increment(30);
  assert.is(bucket.take(), 10, 'the three reserved tokens are used up by now');
  clock.increment(1000);
  assert.equal([bucket.take(), bucket.take(), bucket.take()], [0, 0, 10], 'no more than the burst saved up');
  const free = new TokenBucket(Infinity, 1, () => clock.now());
  for (let i = 0; i < 1000; i++) assert.is(free.take(), 0);
});

test.run();
