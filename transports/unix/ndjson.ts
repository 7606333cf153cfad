/**
 * Newline-delimited JSON framing: UTF-8, one object per line, a size limit per
 * frame. The decoder keeps partial lines between chunks.
 */
import { isUtf8 } from 'node:buffer';
import * as check from '../../machines/ports/check.js';
import { FrameTooLargeError } from './errors.js';

export { FrameTooLargeError };

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/** Splits a byte stream into lines; `push` returns the complete ones. */
export class LineDecoder {
  /** The longest line allowed, in bytes. */
  readonly maxFrameBytes: number;
  /** The partial line: bytes (for byte chunks) or text (for string chunks). */
  #held: Buffer[] = [];
  #partial = '';
  #partialBytes = 0;

  /**
   * `maxFrameBytes`: the longest line allowed, bytes, an integer >= 64. Default 1 MiB (`undefined` too).
   * @example new LineDecoder(64 * 1024)
   */
  constructor(maxFrameBytes?: number) {
    // NaN, Infinity or {} used to mean "no limit" and 0 or -1 "reject every line" (issue 11, item 10).
    this.maxFrameBytes = checkMaxFrameBytes(maxFrameBytes, 'maxFrameBytes');
  }

  /**
   * Complete lines in `chunk` (without their newline). Throws FrameTooLargeError past the limit.
   * With `invalid`, the indices (in the returned array) of lines whose bytes were not valid
   * UTF-8 are added to it (they come back with U+FFFD in place of the bad bytes).
   * Bytes and strings may be mixed (a partial line carries over either way).
   */
  push(chunk: Uint8Array | string, invalid?: Set<number>): string[] {
    return typeof chunk === 'string' ? this.#pushText(chunk) : this.#pushBytes(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), invalid);
  }

  /**
   * Bytes are split on 0x0A before decoding (a newline byte never occurs inside
   * a multi-byte UTF-8 sequence), so each line is decoded from its own bytes and
   * a line that shows U+FFFD can be checked against them.
   */
  #pushBytes(bytes: Buffer, invalid: Set<number> | undefined): string[] {
    if (this.#partial) {
      // The partial line came as text: carry it on as bytes.
      this.#held = [Buffer.from(this.#partial)];
      this.#partial = '';
    }
    const lastNl = bytes.lastIndexOf(10);
    if (lastNl === -1) {
      this.#hold(bytes);
      return [];
    }
    // Everything up to the last newline is whole lines: decode it in one go (fast), keep the rest as bytes.
    let body = bytes.subarray(0, lastNl);
    if (this.#held.length > 0) {
      body = Buffer.concat([...this.#held, body]);
      this.#held = [];
      this.#partialBytes = 0;
    }
    const text = body.toString('utf8');
    const parts = text.split('\n');
    // A line that shows U+FFFD may hold bytes that were not UTF-8: only then look at its bytes.
    const suspect = invalid !== undefined && text.includes('\uFFFD') ? splitBytes(body) : undefined;
    const lines: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      let line = parts[i]!;
      // UTF-8 takes at most 3 bytes per UTF-16 unit: only long lines need measuring.
      if (line.length * 3 > this.maxFrameBytes) {
        const size = Buffer.byteLength(line);
        if (size > this.maxFrameBytes) throw new FrameTooLargeError(this.maxFrameBytes, size);
      }
      if (line.trim() === '') continue;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (suspect && line.includes('\uFFFD') && !isUtf8(suspect[i]!)) invalid!.add(lines.length);
      lines.push(line);
    }
    if (lastNl + 1 < bytes.length) this.#hold(bytes.subarray(lastNl + 1));
    return lines;
  }

  /** Keep the start of a line until its newline arrives (copied: the chunk's buffer may be reused). */
  #hold(bytes: Buffer) {
    this.#held.push(Buffer.from(bytes));
    this.#partialBytes += bytes.length;
    if (this.#partialBytes > this.maxFrameBytes) throw new FrameTooLargeError(this.maxFrameBytes, this.#partialBytes);
  }

  #pushText(text: string): string[] {
    if (this.#held.length > 0) {
      this.#partial = Buffer.concat(this.#held).toString('utf8');
      this.#held = [];
    }
    const parts = text.split('\n');
    const last = parts.pop()!;
    const lines: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const line = i === 0 ? this.#partial + parts[i] : parts[i]!;
      if (i === 0) {
        this.#partial = '';
        this.#partialBytes = 0;
      }
      // UTF-8 takes at most 3 bytes per UTF-16 unit: only long lines need measuring.
      if (line.length * 3 > this.maxFrameBytes) {
        const size = Buffer.byteLength(line);
        if (size > this.maxFrameBytes) throw new FrameTooLargeError(this.maxFrameBytes, size);
      }
      if (line.trim() !== '') lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    this.#partial = parts.length === 0 ? this.#partial + last : last;
    this.#partialBytes = parts.length === 0 ? this.#partialBytes + Buffer.byteLength(last) : Buffer.byteLength(last);
    if (this.#partialBytes > this.maxFrameBytes) throw new FrameTooLargeError(this.maxFrameBytes, this.#partialBytes);
    return lines;
  }
}


/** A `maxFrameBytes` option: `undefined` is the default, anything else an integer >= 64. */
export function checkMaxFrameBytes(value: unknown, name: string): number {
  return value === undefined ? DEFAULT_MAX_FRAME_BYTES : check.integer(value, name, { min: 64 });
}

/** `bytes` split on 0x0A (a newline byte never occurs inside a multi-byte UTF-8 sequence). */
function splitBytes(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let nl = bytes.indexOf(10); nl !== -1; nl = bytes.indexOf(10, start)) {
    out.push(bytes.subarray(start, nl));
    start = nl + 1;
  }
  out.push(bytes.subarray(start));
  return out;
}
