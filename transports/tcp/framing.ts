/**
 * Framing for byte streams, chosen per connection: a TCP link delivers
 * chunks as the socket reads them (a message may arrive split, several may
 * arrive in one chunk), these turn them back into frames.
 *
 * - `lengthPrefixed({ bytes, maxFrameBytes })`: each frame is preceded by its
 *   length, big-endian, in 1, 2 or 4 bytes; `encodeLengthPrefixed` writes one.
 * - `delimited({ delimiter, maxFrameBytes })`: frames end with a delimiter
 *   (default `'\n'`); `encodeDelimited` writes one.
 *
 * Both are RxJS operators over `Payload` chunks (a link's `incoming$`, a
 * handle's `data$`) emitting `Uint8Array` frames, each a fresh copy. Each
 * subscription has its own decoder. Memory is bounded: a frame over
 * `maxFrameBytes` errors the stream with a `FrameTooLargeError` at once
 * (length-prefixed: as soon as its header is read, before its body is
 * buffered). After such an error the stream is out of step with the peer:
 * close the link. The decoders are exported too, for code without RxJS.
 *
 * @example
 * ```ts
 * link.incoming$.pipe(lengthPrefixed({ bytes: 4, maxFrameBytes: 64 * 1024 })).subscribe(onFrame);
 * await link.send(encodeLengthPrefixed(JSON.stringify(msg), { bytes: 4 }));
 * ```
 */
import { Observable, type OperatorFunction } from 'rxjs';
import * as check from '../../machines/ports/check.js';
import type { Payload } from '../../machines/ports/transport.js';
import { FrameTooLargeError } from '../unix/errors.js';
import { TruncatedFrameError } from './errors.js';

export { FrameTooLargeError, TruncatedFrameError };

/** Default `maxFrameBytes`: 1 MiB (less when a shorter length prefix cannot say it). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/** Bytes of a length prefix. */
export type PrefixBytes = 1 | 2 | 4;

export interface LengthPrefixedOptions {
  /** Bytes of the big-endian length before each frame. Default 4. */
  bytes?: PrefixBytes;
  /**
   * The longest frame taken, bytes (the length prefix not counted): an
   * integer from 0 up to what the prefix can say (255, 65535, 2^32-1).
   * Default 1 MiB, or the prefix's maximum if that is less.
   */
  maxFrameBytes?: number;
}

export interface DelimitedOptions {
  /** What ends each frame: a non-empty string (UTF-8) or bytes, at most 64 bytes. Default `'\n'`. */
  delimiter?: string | Uint8Array;
  /** The longest frame taken, bytes, the delimiter not counted: an integer >= 1. Default 1 MiB. */
  maxFrameBytes?: number;
}

const toBuffer = (chunk: Payload): Buffer => (typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));

function checkLengthPrefixed(options: LengthPrefixedOptions | undefined, name: string): { bytes: PrefixBytes; maxFrameBytes: number } {
  if (options !== undefined) check.object(options, name, '{ bytes?, maxFrameBytes? }');
  const bytes = options?.bytes === undefined ? 4 : check.oneOf(options.bytes, `${name}.bytes`, [1, 2, 4] as const);
  const most = 2 ** (8 * bytes) - 1;
  const maxFrameBytes = options?.maxFrameBytes === undefined ? Math.min(DEFAULT_MAX_FRAME_BYTES, most) : check.integer(options.maxFrameBytes, `${name}.maxFrameBytes`, { min: 0, max: most });
  return { bytes, maxFrameBytes };
}

function checkDelimited(options: DelimitedOptions | undefined, name: string): { delimiter: Buffer; maxFrameBytes: number } {
  if (options !== undefined) check.object(options, name, '{ delimiter?, maxFrameBytes? }');
  const d = options?.delimiter ?? '\n';
  if (typeof d !== 'string' && !(d instanceof Uint8Array)) throw new TypeError(`${name}.delimiter must be a string or a Uint8Array, got ${check.describe(d)}`);
  const delimiter = Buffer.from(toBuffer(d)); // a copy: the caller's bytes may change
  if (delimiter.length === 0 || delimiter.length > 64) throw new RangeError(`${name}.delimiter must be 1 to 64 bytes, got ${delimiter.length}`);
  const maxFrameBytes = options?.maxFrameBytes === undefined ? DEFAULT_MAX_FRAME_BYTES : check.integer(options.maxFrameBytes, `${name}.maxFrameBytes`, { min: 1 });
  return { delimiter, maxFrameBytes };
}

/**
 * The chunks received and not yet framed, read from the front. Consumed
 * chunks are dropped by index (an Array.shift per tiny chunk of a big frame
 * would be quadratic).
 */
class ChunkQueue {
  #chunks: Buffer[] = [];
  #first = 0;
  #offset = 0;
  length = 0;

  push(chunk: Buffer) {
    this.#chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The next `n` bytes (n <= length), as a new buffer. */
  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[this.#first]!;
      const copied = c.copy(out, filled, this.#offset, Math.min(c.length, this.#offset + n - filled));
      filled += copied;
      this.#offset += copied;
      if (this.#offset === c.length) this.#advance();
    }
    this.length -= n;
    return out;
  }

  /** The next `n` bytes (n <= 4, n <= length) as a big-endian unsigned integer. */
  readUInt(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) {
      const c = this.#chunks[this.#first]!;
      value = value * 256 + c[this.#offset++]!;
      if (this.#offset === c.length) this.#advance();
    }
    this.length -= n;
    return value;
  }

  #advance() {
    this.#chunks[this.#first++] = undefined as unknown as Buffer;
    this.#offset = 0;
    if (this.#first === this.#chunks.length) {
      this.#chunks = [];
      this.#first = 0;
    } else if (this.#first >= 1024 && this.#first * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#first);
      this.#first = 0;
    }
  }
}

/**
 * Splits length-prefixed frames out of a byte stream. `push` returns the
 * frames each chunk completes; it throws `FrameTooLargeError` for a header
 * over `maxFrameBytes` (discard the decoder then).
 */
export class LengthPrefixedDecoder {
  readonly bytes: PrefixBytes;
  readonly maxFrameBytes: number;
  readonly #queue = new ChunkQueue();
  /** Length of the frame whose header was read, or -1 while waiting for a header. */
  #need = -1;

  constructor(options?: LengthPrefixedOptions) {
    ({ bytes: this.bytes, maxFrameBytes: this.maxFrameBytes } = checkLengthPrefixed(options, 'options'));
  }

  push(chunk: Payload): Uint8Array[] {
    const frames: Uint8Array[] = [];
    const q = this.#queue;
    const data = toBuffer(chunk);
    if (data.length > 0) q.push(data);
    for (;;) {
      if (this.#need < 0) {
        if (q.length < this.bytes) break;
        const length = q.readUInt(this.bytes);
        if (length > this.maxFrameBytes) throw new FrameTooLargeError(this.maxFrameBytes, length);
        this.#need = length;
      }
      if (q.length < this.#need) break;
      frames.push(q.take(this.#need));
      this.#need = -1;
    }
    return frames;
  }

  /** The stream ended: throws `TruncatedFrameError` if it ended inside a frame. */
  end(): void {
    if (this.#need >= 0) throw new TruncatedFrameError(this.#need, this.#queue.length);
    if (this.#queue.length > 0) throw new TruncatedFrameError(undefined, this.#queue.length);
  }
}

/**
 * Splits delimited frames out of a byte stream. `push` returns the frames
 * each chunk completes (without their delimiter, empty ones included); it
 * throws `FrameTooLargeError` once more than `maxFrameBytes` arrive without
 * a delimiter (discard the decoder then).
 */
export class DelimitedDecoder {
  readonly delimiter: Uint8Array;
  readonly maxFrameBytes: number;
  readonly #d: Buffer;
  #held: Buffer[] = [];
  #heldBytes = 0;

  constructor(options?: DelimitedOptions) {
    const o = checkDelimited(options, 'options');
    this.#d = o.delimiter;
    this.delimiter = new Uint8Array(o.delimiter);
    this.maxFrameBytes = o.maxFrameBytes;
  }

  push(chunk: Payload): Uint8Array[] {
    const frames: Uint8Array[] = [];
    const buf = toBuffer(chunk);
    const d = this.#d;
    let start = 0;
    if (this.#heldBytes > 0 && d.length > 1) {
      // A delimiter that begins in the held bytes and ends in this chunk.
      const tail = this.#tail(d.length - 1);
      const probe = Buffer.concat([tail, buf.subarray(0, d.length - 1)]);
      const at = probe.indexOf(d);
      if (at !== -1 && at < tail.length) {
        frames.push(this.#frame(Buffer.concat(this.#held, this.#heldBytes).subarray(0, this.#heldBytes - (tail.length - at))));
        start = at + d.length - tail.length;
        this.#held = [];
        this.#heldBytes = 0;
      }
    }
    for (let i = buf.indexOf(d, start); i !== -1; i = buf.indexOf(d, start)) {
      const part = buf.subarray(start, i);
      if (this.#heldBytes > 0) {
        frames.push(this.#frame(Buffer.concat([...this.#held, part], this.#heldBytes + part.length)));
        this.#held = [];
        this.#heldBytes = 0;
      } else {
        frames.push(this.#frame(Buffer.from(part)));
      }
      start = i + d.length;
    }
    if (start < buf.length) {
      this.#held.push(Buffer.from(buf.subarray(start))); // a copy: the chunk's memory is the caller's
      this.#heldBytes += buf.length - start;
      // Up to delimiter-1 held bytes may be the start of a delimiter, not of the frame.
      if (this.#heldBytes > this.maxFrameBytes + d.length - 1) throw new FrameTooLargeError(this.maxFrameBytes, this.#heldBytes);
    }
    return frames;
  }

  /** The stream ended: the bytes after the last delimiter, as a last frame (a final line without its newline), or undefined. */
  end(): Uint8Array | undefined {
    if (this.#heldBytes === 0) return undefined;
    const rest = this.#frame(Buffer.concat(this.#held, this.#heldBytes));
    this.#held = [];
    this.#heldBytes = 0;
    return rest;
  }

  #frame(bytes: Buffer): Uint8Array {
    if (bytes.length > this.maxFrameBytes) throw new FrameTooLargeError(this.maxFrameBytes, bytes.length);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  /** The last `n` held bytes (fewer if fewer are held). */
  #tail(n: number): Buffer {
    const parts: Buffer[] = [];
    let need = n;
    for (let i = this.#held.length - 1; i >= 0 && need > 0; i--) {
      const c = this.#held[i]!;
      parts.unshift(c.subarray(Math.max(0, c.length - need)));
      need -= Math.min(need, c.length);
    }
    return Buffer.concat(parts);
  }
}

/** An operator running one decoder per subscription; `end` gives a last frame or throws. */
function framing(make: () => { push(chunk: Payload): Uint8Array[]; end(): Uint8Array | undefined | void }): OperatorFunction<Payload, Uint8Array> {
  return (source) =>
    new Observable<Uint8Array>((subscriber) => {
      const decoder = make();
      return source.subscribe({
        next(chunk) {
          let frames: Uint8Array[];
          try {
            frames = decoder.push(chunk);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          for (const frame of frames) subscriber.next(frame);
        },
        error: (error: unknown) => subscriber.error(error),
        complete() {
          let last: Uint8Array | undefined | void;
          try {
            last = decoder.end();
          } catch (error) {
            subscriber.error(error);
            return;
          }
          if (last) subscriber.next(last);
          subscriber.complete();
        },
      });
    });
}

/**
 * Length-prefixed frames out of a stream of chunks. Errors with
 * `FrameTooLargeError` for a frame over `maxFrameBytes`, and with
 * `TruncatedFrameError` when the stream completes inside a frame.
 * Options are checked at once (TypeError/RangeError naming them).
 *
 * @example handle.data$.pipe(lengthPrefixed({ bytes: 2 })).subscribe(onFrame)
 */
export function lengthPrefixed(options?: LengthPrefixedOptions): OperatorFunction<Payload, Uint8Array> {
  const checked = checkLengthPrefixed(options, 'options');
  return framing(() => new LengthPrefixedDecoder(checked));
}

/**
 * Delimited frames out of a stream of chunks (the delimiter removed). When
 * the stream completes, bytes after the last delimiter come as a last frame.
 * Errors with `FrameTooLargeError` once more than `maxFrameBytes` arrive
 * without a delimiter. Options are checked at once.
 *
 * @example link.incoming$.pipe(delimited({ delimiter: '\r\n', maxFrameBytes: 8192 }), map((f) => Buffer.from(f).toString()))
 */
export function delimited(options?: DelimitedOptions): OperatorFunction<Payload, Uint8Array> {
  const checked = checkDelimited(options, 'options');
  return framing(() => new DelimitedDecoder(checked));
}

/**
 * `frame` with its length before it, ready to send. A RangeError if the
 * frame is longer than the prefix can say or than `maxFrameBytes`.
 *
 * @example await link.send(encodeLengthPrefixed('{"op":"ping"}', { bytes: 2 }))
 */
export function encodeLengthPrefixed(frame: Payload, options?: LengthPrefixedOptions): Uint8Array {
  const { bytes, maxFrameBytes } = checkLengthPrefixed(options, 'options');
  const body = toBuffer(checkPayload(frame));
  const limit = options?.maxFrameBytes === undefined ? 2 ** (8 * bytes) - 1 : maxFrameBytes;
  if (body.length > limit) throw new RangeError(`frame must be at most ${limit} bytes${options?.maxFrameBytes === undefined ? ` (a ${bytes}-byte length prefix)` : ' (options.maxFrameBytes)'}, got ${body.length}`);
  const out = Buffer.allocUnsafe(bytes + body.length);
  out.writeUIntBE(body.length, 0, bytes);
  body.copy(out, bytes);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * `frame` with the delimiter after it, ready to send. A RangeError if the
 * frame contains the delimiter (the peer would read two frames).
 *
 * @example await link.send(encodeDelimited(JSON.stringify(msg)))
 */
export function encodeDelimited(frame: Payload, options?: Pick<DelimitedOptions, 'delimiter'>): Uint8Array {
  const { delimiter } = checkDelimited(options, 'options');
  const body = toBuffer(checkPayload(frame));
  if (body.indexOf(delimiter) !== -1) throw new RangeError(`frame must not contain the delimiter ${JSON.stringify(delimiter.toString('utf8'))}`);
  const out = Buffer.concat([body, delimiter]);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function checkPayload(frame: unknown): Payload {
  if (typeof frame !== 'string' && !(frame instanceof Uint8Array)) throw new TypeError(`frame must be a string or Uint8Array, got ${check.describe(frame)}`);
  return frame;
}
