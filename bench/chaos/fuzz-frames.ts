/**
 * Seeded bad input for the servers we run: random bytes and text, mutated
 * valid frames, invalid UTF-8, deep nesting, oversize frames, prototype keys
 * (`__proto__`, `constructor`, `prototype`) and bare JSON values, plus a few
 * valid frames as a control (they must be accepted).
 */
import { between, pick, type Random } from './lib.js';

export type Category =
  | 'valid'
  | 'random-bytes'
  | 'random-text'
  | 'mutated'
  | 'invalid-utf8'
  | 'deep-nesting'
  | 'oversize'
  | 'prototype-keys'
  | 'json-values';

export interface Frame {
  category: Category;
  bytes: Buffer;
}

export interface FrameSource {
  /** A valid frame (the control), numbered `n`. */
  valid(n: number): string;
  /** Frames that only make sense to this server, each with prototype keys. */
  prototype(n: number): string[];
  /** Bytes of the largest frame the server should take; oversize frames are past it. */
  limit: number;
  /**
   * The frame is a well-formed request, whatever its category (a command
   * with an extra, inert `__proto__` key; a mutation that left it valid):
   * accepting it is right. Without it, only the category decides.
   */
  wellFormed?(bytes: Buffer): boolean;
}

const INVALID_UTF8 = [
  [0xff],
  [0xfe, 0xff],
  [0xc3, 0x28], // a lead byte without its continuation
  [0xc0, 0xaf], // overlong '/'
  [0xed, 0xa0, 0x80], // a UTF-16 surrogate, encoded
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
  [0x80], // a lone continuation byte
];

const JSON_VALUES = ['null', 'true', '0', '-1', '1e999', '"text"', '[]', '{}', '[null]', '""', '{"":""}', '-0', '123456789012345678901234567890'];

function randomText(r: Random, length: number): string {
  const alphabet = '{}[]":,\\ abcdefghijklmnopqrstuvwxyz0123456789-_.eE+ntrufalse\u00e9\u2603\ud83d\ude00';
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[between(r, 0, alphabet.length - 1)];
  return s;
}

function mutate(r: Random, text: string): string {
  const chars = [...text];
  const edits = between(r, 1, 4);
  for (let e = 0; e < edits; e++) {
    const at = between(r, 0, Math.max(0, chars.length - 1));
    const op = between(r, 0, 3);
    if (op === 0) chars.splice(at, 1);
    else if (op === 1) chars.splice(at, 0, pick(r, ['{', '}', '"', ',', ':', '[', ']', '\\', '0', 'x', ' ', 'null']));
    else if (op === 2) chars[at] = pick(r, ['"', '1', '-', 'e', '}', '\u0000', '\u2028']);
    else chars.splice(at, between(r, 1, 8));
  }
  return chars.join('');
}

function deep(r: Random, depth: number): string {
  const kind = between(r, 0, 2);
  if (kind === 0) return '['.repeat(depth) + ']'.repeat(depth);
  if (kind === 1) return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  // Deep inside an otherwise valid-looking frame is made by the caller's valid() shape: nest in a string-free way.
  return `{"id":1,"details":${'{"d":'.repeat(depth)}0${'}'.repeat(depth)}}`;
}

/** `n` frames, drawn with `r`; `newline` replaces '\n' in frames (line protocols). */
export function* frames(r: Random, n: number, source: FrameSource, options: { noNewline?: boolean } = {}): Generator<Frame> {
  const categories: Category[] = ['valid', 'random-bytes', 'random-text', 'mutated', 'invalid-utf8', 'deep-nesting', 'prototype-keys', 'json-values', 'mutated', 'random-text'];
  // Oversize frames are big: a few per run (one per 200 frames, at least one), evenly spread.
  const oversize = Math.max(1, Math.round(n / 200));
  const step = Math.max(1, Math.floor(n / (oversize + 1)));
  for (let i = 0; i < n; i++) {
    const category: Category = i > 0 && i % step === 0 && i / step <= oversize ? 'oversize' : pick(r, categories);
    let bytes: Buffer;
    switch (category) {
      case 'valid':
        bytes = Buffer.from(source.valid(i));
        break;
      case 'random-bytes': {
        bytes = Buffer.alloc(between(r, 1, 300));
        for (let k = 0; k < bytes.length; k++) bytes[k] = between(r, 0, 255);
        break;
      }
      case 'random-text':
        bytes = Buffer.from(randomText(r, between(r, 1, 200)));
        break;
      case 'mutated':
        bytes = Buffer.from(mutate(r, source.valid(i)));
        break;
      case 'invalid-utf8': {
        const text = source.valid(i);
        // Inside the last string value where there is one, so the frame is otherwise valid.
        const q = text.lastIndexOf('":"');
        const cut = q > 0 ? q + 3 : between(r, 0, text.length);
        bytes = Buffer.concat([Buffer.from(text.slice(0, cut)), Buffer.from(pick(r, INVALID_UTF8)), Buffer.from(text.slice(cut))]);
        break;
      }
      case 'deep-nesting':
        bytes = Buffer.from(deep(r, pick(r, [100, 1000, 10_000, 100_000])));
        if (bytes.length > source.limit) bytes = Buffer.from(deep(r, 1000));
        break;
      case 'oversize':
        bytes = Buffer.alloc(source.limit + between(r, 1, 4096), 'a'.charCodeAt(0));
        bytes.write('{"id":1,"pad":"', 0);
        bytes.write('"}', bytes.length - 2);
        break;
      case 'prototype-keys':
        bytes = Buffer.from(pick(r, source.prototype(i)));
        break;
      case 'json-values':
        bytes = Buffer.from(pick(r, JSON_VALUES));
        break;
    }
    if (options.noNewline) for (let k = 0; k < bytes.length; k++) if (bytes[k] === 0x0a) bytes[k] = 0x20;
    yield { category, bytes };
  }
}
