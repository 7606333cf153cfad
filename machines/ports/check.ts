/**
 * Argument checks: how every layer reports a bad argument from a caller.
 *
 * A wrong kind of value is a `TypeError`, a right kind out of range a
 * `RangeError`; either way the message starts with the argument's name as the
 * caller wrote it (`options.maxRestarts`, `spec.policy.factor`), says what was
 * expected and, for values, ends with what it got:
 * `options.maxRestarts must be an integer >= 0, got 1.5`.
 * Each helper returns the value, so a check can also be an assignment.
 *
 * This file imports nothing: it is on the bottom floor with the other ports,
 * so machines, actors, transports and the visualizer all use it.
 *
 * @example
 * ```ts
 * import * as check from '../machines/ports/check.js';
 * check.object(options, 'options');
 * const limit = check.integer(options.limit ?? 1000, 'options.limit', { min: 0 });
 * ```
 */

/** What a member of a `shape` must be: `typeof` it, except that `'object'` also takes functions and never `null`. */
export type MemberKind = 'function' | 'object' | 'string' | 'boolean';

/** `value` for a message, never dumping objects or long strings (they may hold secrets): `describe(1.5) // '1.5'`, `describe({}) // 'an object'`. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return typeof value === 'bigint' ? `${value}n` : String(value);
}

/** A non-null object (not a function). `object(null, 'options', '{ path }')` throws "options must be an object { path }". */
export function object<T>(value: T, name: string, shape?: string): T & object {
  if (value === null || typeof value !== 'object') throw new TypeError(`${name} must be an object${shape ? ` ${shape}` : ''}`);
  return value;
}

/** A string other than `''`. `nonEmptyString('', 'options.id')` throws `options.id must be a non-empty string, got ""`. */
export function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string, got ${describe(value)}`);
  return value;
}

/** `true` or `false`. `boolean('yes', 'options.resend')` throws `options.resend must be a boolean, got "yes"`. */
export function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** A function. `func(1, 'options.join', '(frames) => payload')` throws "options.join must be a function (frames) => payload". */
export function func<T>(value: T, name: string, signature?: string): T {
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function${signature ? ` ${signature}` : ''}`);
  return value;
}

/** One of `list`. `oneOf('x', 'options.strategy', ['one_for_one'])` throws `options.strategy must be one of one_for_one, got "x"`. */
export function oneOf<T>(value: unknown, name: string, list: readonly T[]): T {
  if (!list.includes(value as T)) throw new TypeError(`${name} must be one of ${list.join(', ')}, got ${describe(value)}`);
  return value as T;
}

/** The longest delay a timer takes (2^31-1 ms, about 24.8 days): Node runs a longer one after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Bounds for `integer` and `finiteNumber`. */
export interface NumberRange {
  /** Smallest value allowed (or the bound it must exceed, with `exclusiveMin`). */
  min?: number;
  /** The value must be greater than `min`, not equal to it. Default false. */
  exclusiveMin?: boolean;
  /** Largest value allowed. */
  max?: number;
  /** `Infinity` passes as well ("retry forever"). Default false. */
  allowInfinity?: boolean;
}

/** `what` a number must be, as a message says it: `'a finite number > 0'`, `'an integer within 0..65535'`. */
function rule(what: string, { min, exclusiveMin = false, max, allowInfinity = false }: NumberRange): string {
  const low = min === undefined ? '' : `${exclusiveMin ? '>' : '>='} ${min}`;
  const range = max === undefined ? low : min === undefined ? `<= ${max}` : exclusiveMin ? `${low} and <= ${max}` : `within ${min}..${max}`;
  return `${what}${range ? ` ${range}` : ''}${allowInfinity ? ' or Infinity' : ''}`;
}

/** A number that is not NaN: the right kind of value for a numeric option, whatever its range. */
const isNumber = (value: unknown): value is number => typeof value === 'number' && !Number.isNaN(value);

function inRange(n: number, { min, exclusiveMin, max }: NumberRange): boolean {
  return (min === undefined || (exclusiveMin ? n > min : n >= min)) && (max === undefined || n <= max);
}

/**
 * A whole number within `range`: a TypeError for a non-number or NaN, a RangeError otherwise.
 * `integer(1.5, 'options.maxRestarts', { min: 0 })` throws "options.maxRestarts must be an integer >= 0, got 1.5".
 */
export function integer(value: unknown, name: string, range: NumberRange = {}): number {
  if (typeof value === 'number' && (Number.isInteger(value) || (range.allowInfinity && value === Infinity)) && inRange(value, range)) return value;
  throw new (isNumber(value) ? RangeError : TypeError)(`${name} must be ${rule('an integer', range)}, got ${describe(value)}`);
}

/**
 * A finite number within `range` (`Infinity` too with `allowInfinity`): a TypeError for a non-number or NaN, a RangeError otherwise.
 * `finiteNumber(0, 'config.ackTimeoutMs', { min: 0, exclusiveMin: true })` throws "config.ackTimeoutMs must be a finite number > 0, got 0".
 */
export function finiteNumber(value: unknown, name: string, range: NumberRange = {}): number {
  if (typeof value === 'number' && (Number.isFinite(value) || (range.allowInfinity && value === Infinity)) && inRange(value, range)) return value;
  const what = rule(range.allowInfinity ? 'a number' : 'a finite number', { ...range, allowInfinity: false });
  throw new (isNumber(value) ? RangeError : TypeError)(`${name} must be ${what}, got ${describe(value)}`);
}

/**
 * An optional duration in ms: `undefined` passes, anything else must be a finite number > 0 (>= 0 with
 * `allowZero`) and at most `MAX_TIMER_MS`.
 * `duration(-1, 'options.pingIntervalMs', { allowZero: true })` throws "options.pingIntervalMs must be a finite number >= 0, got -1".
 */
export function duration(value: unknown, name: string, { allowZero }: { allowZero: boolean }): number | undefined {
  return value === undefined ? undefined : finiteNumber(value, name, { min: 0, exclusiveMin: !allowZero, max: MAX_TIMER_MS });
}

function fits(value: unknown, members: Readonly<Record<string, MemberKind>>): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  return Object.entries(members).every(([key, kind]) => {
    const m = (value as Record<string, unknown>)[key];
    return kind === 'object' ? m !== null && (typeof m === 'object' || typeof m === 'function') : typeof m === kind;
  });
}

/**
 * An object (or function) with these members, as a duck-typed interface: `what` names it.
 * `shape({}, 'link', { send: 'function', closed: 'object' }, 'a Link ({ send, closed })')` throws "link must be a Link ({ send, closed })".
 */
export function shape<T>(value: T, name: string, members: Readonly<Record<string, MemberKind>>, what: string): T {
  if (!fits(value, members)) throw new TypeError(`${name} must be ${what}`);
  return value;
}

/**
 * An object with these methods. `hasMethods({}, 'options.clock', ['setTimeout', 'clearTimeout'], '(e.g. XState SimulatedClock)')`
 * throws "options.clock must have setTimeout and clearTimeout (e.g. XState SimulatedClock)".
 */
export function hasMethods<T>(value: T, name: string, methods: readonly string[], hint?: string): T {
  if (!fits(value, Object.fromEntries(methods.map((m) => [m, 'function'])))) {
    throw new TypeError(`${name} must have ${methods.join(' and ')}${hint ? ` ${hint}` : ''}`);
  }
  return value;
}
