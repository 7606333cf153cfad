/** Argument checks (machines/ports/check.ts): each helper passes good input and names the argument in a TypeError or RangeError (issue 10). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as check from '../../machines/ports/check.js';

const test = suite('check');

/** `fn` throws exactly `cls` (not a subclass's sibling) with a message starting with `name` and matching `rest`. */
function throwsNamed(fn: () => unknown, cls: typeof TypeError | typeof RangeError, name: string, rest?: RegExp) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof cls && e.constructor === cls, `expected ${cls.name}, got ${String(e)}`);
    assert.ok((e as Error).message.startsWith(`${name} must `), (e as Error).message);
    if (rest) assert.match((e as Error).message, rest);
    return;
  }
  assert.unreachable(`expected ${cls.name} naming ${name}`);
}

test('check: describe says what it got without dumping objects', () => {
  assert.is(check.describe(1.5), '1.5');
  assert.is(check.describe(NaN), 'NaN');
  assert.is(check.describe(-Infinity), '-Infinity');
  assert.is(check.describe('x'), '"x"');
  assert.is(check.describe(''), '""');
  assert.is(check.describe('s'.repeat(100)), 'a string of 100 characters');
  assert.is(check.describe(null), 'null');
  assert.is(check.describe(undefined), 'undefined');
  assert.is(check.describe({ secret: 'token' }), 'an object');
  assert.is(check.describe([1]), 'an array');
  assert.is(check.describe(() => 1), 'a function');
  assert.is(check.describe(10n), '10n');
  assert.is(check.describe(Symbol('s')), 'Symbol(s)');
});

test('check: object takes non-null objects only', () => {
  const o = { a: 1 };
  assert.is(check.object(o, 'options'), o);
  assert.ok(check.object([], 'options'));
  for (const bad of [null, undefined, 'x', 1, NaN, () => ({})]) throwsNamed(() => check.object(bad, 'options'), TypeError, 'options');
  assert.throws(() => check.object(null, 'options', '{ path }'), (e: Error) => e.message === 'options must be an object { path }');
});

test('check: nonEmptyString', () => {
  assert.is(check.nonEmptyString('a', 'options.id'), 'a');
  for (const bad of ['', null, undefined, 1, NaN, {}, ['a']]) throwsNamed(() => check.nonEmptyString(bad, 'options.id'), TypeError, 'options.id', /non-empty string, got/);
  assert.throws(() => check.nonEmptyString('', 'options.id'), (e: Error) => e.message === 'options.id must be a non-empty string, got ""');
});

test('check: boolean', () => {
  assert.is(check.boolean(false, 'options.resend'), false);
  assert.is(check.boolean(true, 'options.resend'), true);
  for (const bad of ['true', 0, 1, null, undefined, {}, NaN]) throwsNamed(() => check.boolean(bad, 'options.resend'), TypeError, 'options.resend', /a boolean, got/);
});

test('check: func', () => {
  const f = () => 1;
  assert.is(check.func(f, 'options.join'), f);
  for (const bad of [null, undefined, {}, 'f', 1]) throwsNamed(() => check.func(bad, 'options.join'), TypeError, 'options.join');
  assert.throws(() => check.func(1, 'options.join', '(frames) => payload'), (e: Error) => e.message === 'options.join must be a function (frames) => payload');
});

test('check: oneOf', () => {
  const list = ['one_for_one', 'one_for_all'] as const;
  assert.is(check.oneOf('one_for_all', 'options.strategy', list), 'one_for_all');
  for (const bad of ['nope', '', null, undefined, {}, 1]) throwsNamed(() => check.oneOf(bad, 'options.strategy', list), TypeError, 'options.strategy', /one of one_for_one, one_for_all, got/);
});

test('check: integer, with min, max and Infinity', () => {
  assert.is(check.integer(0, 'options.maxRestarts', { min: 0 }), 0);
  assert.is(check.integer(-3, 'seed'), -3);
  assert.is(check.integer(65535, 'options.port', { min: 0, max: 65535 }), 65535);
  assert.is(check.integer(Infinity, 'policy.maxRetries', { min: 0, allowInfinity: true }), Infinity);
  assert.throws(() => check.integer(1.5, 'options.maxRestarts', { min: 0 }), (e: Error) => e instanceof RangeError && e.message === 'options.maxRestarts must be an integer >= 0, got 1.5');
  for (const bad of [-1, 1.5, Infinity, -Infinity]) throwsNamed(() => check.integer(bad, 'n', { min: 0 }), RangeError, 'n', /an integer >= 0, got/);
  for (const bad of [NaN, '1', null, undefined, {}]) throwsNamed(() => check.integer(bad, 'n', { min: 0 }), TypeError, 'n', /an integer >= 0, got/);
  throwsNamed(() => check.integer(65536, 'options.port', { min: 0, max: 65535 }), RangeError, 'options.port', /within 0\.\.65535, got 65536/);
  throwsNamed(() => check.integer(0, 'policy.maxPermanentFailures', { min: 1, allowInfinity: true }), RangeError, 'policy.maxPermanentFailures', /an integer >= 1 or Infinity, got 0/);
  throwsNamed(() => check.integer(-Infinity, 'm', { min: 1, allowInfinity: true }), RangeError, 'm');
});

test('check: finiteNumber, with bounds and Infinity', () => {
  assert.is(check.finiteNumber(1.5, 'x'), 1.5);
  assert.is(check.finiteNumber(0, 'policy.staleAfterMs', { min: 0 }), 0);
  assert.is(check.finiteNumber(1, 'policy.jitter', { min: 0, max: 1 }), 1);
  assert.is(check.finiteNumber(Infinity, 'options.periodMs', { min: 0, exclusiveMin: true, allowInfinity: true }), Infinity);
  assert.throws(
    () => check.finiteNumber(0, 'config.ackTimeoutMs', { min: 0, exclusiveMin: true }),
    (e: Error) => e instanceof RangeError && e.message === 'config.ackTimeoutMs must be a finite number > 0, got 0',
  );
  for (const bad of [0, -1, Infinity, -Infinity]) throwsNamed(() => check.finiteNumber(bad, 'ms', { min: 0, exclusiveMin: true }), RangeError, 'ms', /a finite number > 0, got/);
  for (const bad of [NaN, '5', null, undefined, {}]) throwsNamed(() => check.finiteNumber(bad, 'ms', { min: 0, exclusiveMin: true }), TypeError, 'ms', /a finite number > 0, got/);
  throwsNamed(() => check.finiteNumber(1.1, 'policy.jitter', { min: 0, max: 1 }), RangeError, 'policy.jitter', /a finite number within 0\.\.1, got 1\.1/);
  throwsNamed(() => check.finiteNumber(Infinity, 'x'), RangeError, 'x', /a finite number, got Infinity/);
  throwsNamed(() => check.finiteNumber(0, 'options.periodMs', { min: 0, exclusiveMin: true, allowInfinity: true }), RangeError, 'options.periodMs', /must be a number > 0, got 0$/);
});

test('check: duration is optional, > 0 or (allowZero) >= 0, and never past what a timer holds', () => {
  assert.is(check.duration(undefined, 'options.pongTimeoutMs', { allowZero: false }), undefined);
  assert.is(check.duration(0, 'options.pingIntervalMs', { allowZero: true }), 0);
  assert.is(check.duration(1.5, 'options.pongTimeoutMs', { allowZero: false }), 1.5);
  throwsNamed(() => check.duration(0, 'options.pongTimeoutMs', { allowZero: false }), RangeError, 'options.pongTimeoutMs', /a finite number > 0 and <= 2147483647, got 0/);
  for (const bad of [-1, Infinity, 2 ** 31]) throwsNamed(() => check.duration(bad, 'options.pingIntervalMs', { allowZero: true }), RangeError, 'options.pingIntervalMs', /a finite number within 0\.\.2147483647/);
  assert.is(check.duration(check.MAX_TIMER_MS, 'options.pingIntervalMs', { allowZero: true }), check.MAX_TIMER_MS);
  for (const bad of [NaN, null, '10', {}]) throwsNamed(() => check.duration(bad, 'options.pingIntervalMs', { allowZero: true }), TypeError, 'options.pingIntervalMs');
});

test('check: shape and hasMethods are duck-typed', () => {
  const link = { send() {}, close() {}, incoming$: {}, closed: Promise.resolve() };
  const members = { send: 'function', close: 'function', incoming$: 'object', closed: 'object' } as const;
  assert.is(check.shape(link, 'link', members, 'a Link'), link);
  const fn = Object.assign(() => {}, { kind: 'x' });
  assert.is(check.shape(fn, 'transport', { kind: 'string' }, 'a Transport'), fn);
  for (const bad of [null, undefined, 1, 'link', {}, { ...link, incoming$: null }, { ...link, send: 1 }]) {
    throwsNamed(() => check.shape(bad, 'link', members, 'a Link'), TypeError, 'link', /^link must be a Link$/);
  }
  const clock = { setTimeout() {}, clearTimeout() {} };
  assert.is(check.hasMethods(clock, 'options.clock', ['setTimeout', 'clearTimeout']), clock);
  for (const bad of [null, undefined, {}, { setTimeout() {} }, 'clock', 0]) {
    throwsNamed(() => check.hasMethods(bad, 'options.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)'), TypeError, 'options.clock', /^options\.clock must have setTimeout and clearTimeout \(e\.g\. XState SimulatedClock\)$/);
  }
});

test.run();
