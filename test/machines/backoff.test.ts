import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffDelay, seededRandom } from '../../machines/backoff.js';
import { defaultPolicy, resolvePolicy } from '../../machines/policy.js';

test('backoff: first delay with the seed defaults is 90..110 ms', () => {
  assert.is(backoffDelay(1, defaultPolicy, () => 0), 90);
  assert.is(backoffDelay(1, defaultPolicy, () => 1), 110);
  assert.is(backoffDelay(1, defaultPolicy, () => 0.5), 100);
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(1);
    assert.ok(d >= 90 && d <= 110, `delay ${d} outside 90..110`);
  }
});

test('backoff: doubles per attempt without jitter', () => {
  const p = { ...defaultPolicy, jitter: 0 };
  assert.equal([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, p)), [100, 200, 400, 800, 1600, 3200, 6400]);
});

test('backoff: is capped at maxBackoffMs ±10 %', () => {
  for (const attempt of [8, 9, 20, 100, 5000]) {
    assert.is(backoffDelay(attempt, defaultPolicy, () => 0), 9000);
    assert.is(backoffDelay(attempt, defaultPolicy, () => 1), 11000);
  }
  assert.is(backoffDelay(2000, { ...defaultPolicy, jitter: 0 }), 10000, 'huge attempts do not overflow');
});

test('backoff: jitter stays within ±jitter of the base', () => {
  const p = { ...defaultPolicy, jitter: 0.25, initialBackoffMs: 1000 };
  const random = seededRandom(7);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < 5000; i++) {
    const d = backoffDelay(1, p, random);
    min = Math.min(min, d);
    max = Math.max(max, d);
  }
  assert.ok(min >= 750 && max <= 1250, `${min}..${max}`);
  assert.ok(min < 780 && max > 1220, `jitter should spread over the range, got ${min}..${max}`);
});

test('backoff: deterministic with a seeded random', () => {
  const a = Array.from({ length: 10 }, (_, i) => backoffDelay(i + 1, defaultPolicy, seededRandom(42)));
  const b = Array.from({ length: 10 }, (_, i) => backoffDelay(i + 1, defaultPolicy, seededRandom(42)));
  const c = Array.from({ length: 10 }, (_, i) => backoffDelay(i + 1, defaultPolicy, seededRandom(43)));
  assert.equal(a, b);
  assert.not.equal(a, c);
});

test('backoff: bad arguments are named', () => {
  assert.throws(() => backoffDelay(0), (e: Error) => e instanceof RangeError && /attempt/.test(e.message));
  assert.throws(() => backoffDelay(1.5), (e: Error) => e instanceof RangeError && /attempt/.test(e.message));
  assert.throws(() => backoffDelay(1, defaultPolicy, () => 2), (e: Error) => e instanceof RangeError && /random/.test(e.message));
  // A number that is not an integer is out of range, as for every integer option (issue 10); a non-number is the wrong type.
  assert.throws(() => seededRandom(0.5), (e: Error) => e instanceof RangeError && /seed must be an integer/.test(e.message));
  assert.throws(() => seededRandom('1' as never), (e: Error) => e instanceof TypeError && /seed/.test(e.message));
});

test('backoff: full jitter spreads a delay over 0..base (issue 11, defect 9)', () => {
  const p = { ...defaultPolicy, jitterMode: 'full' as const };
  assert.is(backoffDelay(3, p, () => 0), 0);
  assert.is(backoffDelay(3, p, () => 1), 400);
  assert.is(backoffDelay(3, p, () => 0.25), 100);
  assert.is(backoffDelay(50, p, () => 1), 10000, 'capped at maxBackoffMs, no jitter above it');
  const random = seededRandom(3);
  const delays = Array.from({ length: 5000 }, () => backoffDelay(4, p, random));
  assert.ok(Math.min(...delays) < 40 && Math.max(...delays) > 760 && Math.max(...delays) <= 800, `${Math.min(...delays)}..${Math.max(...delays)}`);
});

test('backoff: decorrelated jitter draws from initialBackoffMs..3 × the previous delay, capped (issue 11, defect 9)', () => {
  const p = { ...defaultPolicy, jitterMode: 'decorrelated' as const };
  assert.is(backoffDelay(1, p, () => 0), 100, 'the first draws from 100..300');
  assert.is(backoffDelay(1, p, () => 1), 300);
  assert.is(backoffDelay(2, p, () => 1, 300), 900);
  assert.is(backoffDelay(2, p, () => 0, 300), 100, 'never below initialBackoffMs');
  assert.is(backoffDelay(9, p, () => 1, 9000), 10000, 'capped at maxBackoffMs');
  // A chain, as the connection machine runs it (each delay from the one before).
  const random = seededRandom(5);
  let previous: number | undefined;
  for (let n = 1; n <= 50; n++) {
    const d = backoffDelay(n, p, random, previous);
    assert.ok(d >= 100 && d <= Math.min(10000, 3 * (previous ?? 100)), `delay ${n}: ${d} after ${previous}`);
    previous = d;
  }
  assert.throws(() => backoffDelay(1, p, Math.random, -1), (e: Error) => e instanceof RangeError && /previous/.test(e.message));
});

test('backoff: resolvePolicy validates jitterMode', () => {
  assert.is(resolvePolicy({ jitterMode: 'full' }).jitterMode, 'full');
  assert.is(resolvePolicy(undefined).jitterMode, 'relative', "default: the seed's ±10 %");
  assert.throws(
    () => resolvePolicy({ jitterMode: 'equal' as never }, 'spec.policy'),
    (e: Error) => e instanceof TypeError && e.message === 'spec.policy.jitterMode must be one of relative, full, decorrelated, got "equal"',
  );
});

test('backoff: a delay never goes past what a timer holds (jitter after the cap), and restartBackoff durations are bounded', async () => {
  const { MAX_TIMER_MS } = await import('../../machines/ports/check.js');
  const { resolveBackoff } = await import('../../machines/policy.js');
  assert.is(backoffDelay(1, { initialBackoffMs: MAX_TIMER_MS, maxBackoffMs: MAX_TIMER_MS, jitter: 1 }, () => 1), MAX_TIMER_MS);
  assert.throws(() => resolveBackoff({ initialBackoffMs: 2 ** 31 }, 'options.restartBackoff'), (e: Error) => e instanceof RangeError && /options\.restartBackoff\.initialBackoffMs/.test(e.message));
});

test.run();
