/**
 * Newline-delimited JSON framing: UTF-8, one object per line, a size limit per
 * frame. The decoder keeps partial lines between chunks.
 */
import { StringDecoder } from 'node:string_decoder';
import * as check from '../../machines/ports/check.js';
import { FrameTooLargeError } from './errors.js';

export { FrameTooLargeError };

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/** Splits a byte stream into lines; `push` returns the complete ones. */
export class LineDecoder {
  /** The longest line allowed, in bytes. */
  readonly maxFrameBytes: number;
  #text = new StringDecoder('utf8');
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

  /** Complete lines in `chunk` (without their newline). Throws FrameTooLargeError past the limit. */
  push(chunk: Uint8Array | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.#text.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
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
