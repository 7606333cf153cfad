/**
 * Newline-delimited JSON framing: UTF-8, one object per line, a size limit per
 * frame. The decoder keeps partial lines between chunks.
 */
import { StringDecoder } from 'node:string_decoder';
import { FrameTooLargeError } from './errors.js';

export { FrameTooLargeError };

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/** Splits a byte stream into lines; `push` returns the complete ones. */
export class LineDecoder {
  #text = new StringDecoder('utf8');
  #partial = '';
  #partialBytes = 0;

  constructor(readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

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

export function checkMaxFrameBytes(value: unknown, name: string): number {
  if (value === undefined) return DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(value) || (value as number) < 64) throw new RangeError(`${name} must be an integer >= 64 (bytes), got ${String(value)}`);
  return value as number;
}
