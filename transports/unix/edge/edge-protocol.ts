/**
 * The edge wire protocol (README, "Edge wire protocol"): newline-delimited
 * JSON over a UNIX socket.
 *
 *   client → agent  {"session":"<id>"}                    first line of a connection (optional)
 *   client → agent  {"id":7,"event_type":"LoginFailed","severity":"high","details":{...},"timestamp":"2026-..Z"}
 *   agent → client  {"ack":7}   or   {"nack":7,"error":"<reason>"}
 */

/** Severities, as the seed named them; the wire carries the lower-case string. */
export const Severity = {
  INFO: 'info',
  LOW: 'low',
  MEDIUM: 'medium',
  HIGH: 'high',
  CRITICAL: 'critical',
} as const;
export type Severity = (typeof Severity)[keyof typeof Severity];
export const SEVERITIES: readonly Severity[] = Object.values(Severity);

/** The longest session id a client may send (EdgeClient sends a UUID: 36). */
export const MAX_SESSION_LENGTH = 256;

export const EVENT_TYPE_RE = /^[A-Z][a-zA-Z0-9]*$/;

/** An event as it travels (and as `EdgeAgentServer.events$` gives it). */
export interface EdgeEvent {
  id: number;
  event_type: string;
  severity: Severity;
  details: Record<string, unknown>;
  timestamp: string;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * Throw a TypeError naming the first value under `path` that JSON would not
 * carry faithfully: cycles, BigInt, functions, symbols, undefined, NaN and
 * ±Infinity, and objects that are not plain (Date, Map, class instances).
 */
/** True when `value` is plain JSON (no strings built: the fast path for valid input). */
function isJson(value: unknown, depth: number, stack: object[]): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth > 64 || stack.includes(value)) return false;
  stack.push(value);
  let ok = true;
  if (Array.isArray(value)) {
    for (let i = 0; ok && i < value.length; i++) ok = isJson(value[i], depth + 1, stack);
  } else if (isPlainObject(value)) {
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue;
      if (!(ok = isJson(value[k], depth + 1, stack))) break;
    }
    if (ok && Object.getOwnPropertySymbols(value).length) ok = false;
  } else ok = false;
  stack.pop();
  return ok;
}

export function checkJson(value: unknown, path: string, seen = new Set<object>()): void {
  if (seen.size === 0 && isJson(value, 0, [])) return;
  checkJsonSlow(value, path, seen);
}

function checkJsonSlow(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path} must be a finite number, got ${value}`);
      return;
    case 'bigint':
      throw new TypeError(`${path} is a BigInt, which JSON cannot encode (convert it to a string)`);
    case 'function':
    case 'symbol':
    case 'undefined':
      throw new TypeError(`${path} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, which JSON cannot encode`);
  }
  if (value === null) return;
  const obj = value as object;
  if (seen.has(obj)) throw new TypeError(`${path} is a circular reference`);
  seen.add(obj);
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) checkJsonSlow(obj[i], `${path}[${i}]`, seen);
  } else if (isPlainObject(obj)) {
    for (const [k, v] of Object.entries(obj)) checkJsonSlow(v, /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`, seen);
    if (Object.getOwnPropertySymbols(obj).length) throw new TypeError(`${path} has symbol keys, which JSON cannot encode`);
  } else {
    throw new TypeError(`${path} must be a plain object, array or primitive, got ${obj.constructor?.name ?? 'an exotic object'}`);
  }
  seen.delete(obj);
}

export function checkEventType(eventType: unknown): asserts eventType is string {
  if (typeof eventType !== 'string' || !EVENT_TYPE_RE.test(eventType)) {
    throw new TypeError(`eventType must be PascalCase (${EVENT_TYPE_RE}), got ${JSON.stringify(eventType)}`);
  }
}

export function checkSeverity(severity: unknown): asserts severity is Severity {
  if (!(SEVERITIES as readonly unknown[]).includes(severity)) {
    throw new TypeError(`severity must be one of ${SEVERITIES.join(', ')} (or Severity.INFO ... Severity.CRITICAL), got ${JSON.stringify(severity)}`);
  }
}

export function checkDetails(payload: unknown, path = 'payload'): asserts payload is Record<string, unknown> {
  if (!isPlainObject(payload)) throw new TypeError(`${path} must be a plain object, got ${payload === null ? 'null' : Array.isArray(payload) ? 'an array' : typeof payload}`);
  checkJson(payload, path);
}

/** Validate a frame the agent received: the event, or why it is refused (and the id, when it could be read). */
export function parseEventFrame(line: string): { event: EdgeEvent } | { error: string; id: number | null } | { session: string } {
  let frame: unknown;
  try {
    frame = JSON.parse(line);
  } catch {
    return { error: 'frame is not valid JSON', id: null };
  }
  if (!isPlainObject(frame)) return { error: 'frame must be a JSON object', id: null };
  if (typeof frame.session === 'string' && Object.keys(frame).length === 1) {
    // Bounded: the agent keeps each session's name in memory (or in its SeenStore).
    return frame.session && frame.session.length <= MAX_SESSION_LENGTH
      ? { session: frame.session }
      : { error: `session must be a non-empty string of at most ${MAX_SESSION_LENGTH} characters`, id: null };
  }
  const id = Number.isSafeInteger(frame.id) && (frame.id as number) >= 0 ? (frame.id as number) : null;
  if (id === null) return { error: 'id must be an unsigned integer', id: null };
  try {
    checkEventType(frame.event_type);
    checkSeverity(frame.severity);
    checkDetails(frame.details, 'details');
  } catch (e) {
    return { error: (e as Error).message, id };
  }
  if (typeof frame.timestamp !== 'string' || Number.isNaN(Date.parse(frame.timestamp))) return { error: 'timestamp must be an ISO 8601 string', id };
  const extra = Object.keys(frame).filter((k) => !['id', 'event_type', 'severity', 'details', 'timestamp'].includes(k));
  if (extra.length) return { error: `unknown field(s): ${extra.join(', ')}`, id };
  return { event: { id, event_type: frame.event_type as string, severity: frame.severity as Severity, details: frame.details as Record<string, unknown>, timestamp: frame.timestamp } };
}
