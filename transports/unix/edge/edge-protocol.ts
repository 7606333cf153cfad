/**
 * The edge wire protocol (README, "Edge wire protocol"): newline-delimited
 * JSON over a UNIX socket.
 *
 *   client → agent  {"session":"<id>"}                    first line of a connection (optional)
 *   client → agent  {"features":["ack-ranges"]}           what the client understands (optional; issue 15)
 *   client → agent  {"id":7,"event_type":"LoginFailed","severity":"high","details":{...},"timestamp":"2026-..Z"}
 *   agent → client  {"ack":7}   or   {"nack":7,"error":"<reason>"}
 *   agent → client  {"acks":[7,300]}                      ids 7 to 300 acked; only to a client that sent "ack-ranges"
 *
 * Features are negotiated so that every old peer still works: an agent that
 * does not know the features line nacks it (`{"nack":null,...}`, the first
 * reply on that connection, which the client takes as "no features") and
 * acks one by one; an agent sends `{"acks":...}` only to a client that asked.
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

/** Feature: the agent may ack a run of ids with one `{"acks":[first,last]}` frame. */
export const FEATURE_ACK_RANGES = 'ack-ranges';

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
 * True when `value` is plain JSON (no strings built, no set of ancestors:
 * the fast path for valid input). A cycle runs past depth 64 and is left to
 * the slow path, which names it.
 */
function isJson(value: unknown, depth: number): boolean {
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
  if (depth > 64) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isJson(value[i], depth + 1)) return false;
    return true;
  }
  if (!isPlainObject(value)) return false;
  for (const k in value) if (Object.hasOwn(value, k) && !isJson(value[k], depth + 1)) return false;
  return Object.getOwnPropertySymbols(value).length === 0;
}

/**
 * Throw a TypeError naming the first value under `path` that JSON would not
 * carry faithfully: cycles, BigInt, functions, symbols, undefined, NaN and
 * ±Infinity, and objects that are not plain (Date, Map, class instances).
 */
export function checkJson(value: unknown, path: string, seen?: Set<object>): void {
  if (seen === undefined && isJson(value, 0)) return;
  checkJsonSlow(value, path, seen ?? new Set());
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

/** What one connection's frames have in common, kept between calls of `parseEventFrame` (a memo, nothing more). */
export interface FrameMemo {
  /** The last timestamp that parsed: a client stamps many events with the same millisecond. */
  timestamp: string;
}

/** A frame the agent received, read: an event, a session or features line, or why it is refused (and the id, when it could be read). */
export type ClientFrame = { event: EdgeEvent } | { error: string; id: number | null } | { session: string } | { features: string[] };

const EVENT_KEYS = ['id', 'event_type', 'severity', 'details', 'timestamp'];

/** True when `value` (from JSON.parse) holds no number JSON.parse made infinite (1e999); false also past depth 64 (then the full check decides). */
function finiteParsed(value: unknown, depth: number): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return true;
  if (depth > 64) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!finiteParsed(value[i], depth + 1)) return false;
    return true;
  }
  for (const k in value) if (!finiteParsed((value as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}

/** Validate a frame the agent received. `memo` (one per connection) lets it skip work the previous frame did. */
export function parseEventFrame(line: string, memo?: FrameMemo): ClientFrame {
  let frame: unknown;
  try {
    frame = JSON.parse(line);
  } catch {
    return { error: 'frame is not valid JSON', id: null };
  }
  if (!isPlainObject(frame)) return { error: 'frame must be a JSON object', id: null };
  const id = Number.isSafeInteger(frame.id) && (frame.id as number) >= 0 ? (frame.id as number) : null;
  if (id === null) {
    // Session and features lines carry no id.
    let keys = 0;
    for (const k in frame) if (Object.hasOwn(frame, k)) keys++;
    if (typeof frame.session === 'string' && keys === 1) {
      // Bounded: the agent keeps each session's name in memory (or in its SeenStore).
      return frame.session && frame.session.length <= MAX_SESSION_LENGTH
        ? { session: frame.session }
        : { error: `session must be a non-empty string of at most ${MAX_SESSION_LENGTH} characters`, id: null };
    }
    if (Array.isArray(frame.features) && keys === 1) {
      // Unknown features are ignored (a newer client); anything but short strings is refused.
      const features = frame.features as unknown[];
      return features.length <= 64 && features.every((f) => typeof f === 'string' && f.length <= 64)
        ? { features: features as string[] }
        : { error: 'features must be an array of at most 64 strings of at most 64 characters', id: null };
    }
    return { error: 'id must be an unsigned integer', id: null };
  }
  const { event_type, severity, details, timestamp } = frame;
  try {
    checkEventType(event_type);
    checkSeverity(severity);
    // JSON.parse gives plain objects without cycles: only an infinite number (1e999) can be wrong in them.
    if (!isPlainObject(details) || !finiteParsed(details, 0)) checkDetails(details, 'details');
  } catch (e) {
    return { error: (e as Error).message, id };
  }
  if (typeof timestamp !== 'string' || (timestamp !== memo?.timestamp && Number.isNaN(Date.parse(timestamp)))) return { error: 'timestamp must be an ISO 8601 string', id };
  if (memo) memo.timestamp = timestamp;
  let keys = 0;
  for (const k in frame) if (Object.hasOwn(frame, k)) keys++;
  if (keys !== EVENT_KEYS.length) {
    const extra = Object.keys(frame).filter((k) => !EVENT_KEYS.includes(k));
    if (extra.length) return { error: `unknown field(s): ${extra.join(', ')}`, id };
  }
  return { event: { id, event_type: event_type as string, severity: severity as Severity, details: details as Record<string, unknown>, timestamp } };
}

/** A reply the client received. */
export type AgentReply = { ack: number } | { acks: [number, number] } | { nack: number | null; error: string };

/** `{"ack":123}` without JSON.parse (the common reply); undefined when the line is anything else. */
function quickAck(line: string): number | undefined {
  // '{"ack":' is 7 characters; the digits end at the closing brace.
  if (line.length < 9 || line.length > 24 || !line.startsWith('{"ack":') || line.charCodeAt(line.length - 1) !== 125) return undefined;
  let n = 0;
  for (let i = 7; i < line.length - 1; i++) {
    const d = line.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Read a reply from the agent: an ack, a range of acks, a nack. Throws a
 * SyntaxError when the line is not JSON, a TypeError when it is JSON but
 * none of these.
 */
export function parseAgentReply(line: string): AgentReply {
  const quick = quickAck(line);
  if (quick !== undefined) return { ack: quick };
  const msg = JSON.parse(line) as unknown;
  if (isPlainObject(msg)) {
    // Any number is an ack (one that matches nothing is ignored), as before ranges.
    if (typeof msg.ack === 'number') return { ack: msg.ack };
    const acks = msg.acks;
    if (Array.isArray(acks) && acks.length === 2 && Number.isSafeInteger(acks[0]) && Number.isSafeInteger(acks[1]) && acks[0] <= acks[1]) return { acks: [acks[0], acks[1]] };
    if (typeof msg.nack === 'number' || msg.nack === null) return { nack: msg.nack as number | null, error: String(msg.error ?? 'no reason given') };
  }
  throw new TypeError('not an ack, a range of acks or a nack');
}
