/** LineDecoder: lines across chunks, the frame limit, and a validated maxFrameBytes (issue 11, item 10). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_MAX_FRAME_BYTES, FrameTooLargeError, LineDecoder } from '../../../transports/unix/ndjson.js';

const test = suite('ndjson');

test('ndjson: lines split across chunks come out whole; blank lines and \\r are dropped', () => {
  const d = new LineDecoder();
  assert.equal(d.push('{"a":1}\n{"b"'), ['{"a":1}']);
  assert.equal(d.push(Buffer.from(':2}\r\n\n')), ['{"b":2}']);
  // A multi-byte character split between chunks.
  const bytes = Buffer.from('"é"\n');
  assert.equal(d.push(bytes.subarray(0, 2)), []);
  assert.equal(d.push(bytes.subarray(2)), ['"é"']);
});

test('ndjson: maxFrameBytes defaults to 1 MiB, undefined included', () => {
  assert.is(new LineDecoder().maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
  assert.is(new LineDecoder(undefined).maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
  assert.is(new LineDecoder(64).maxFrameBytes, 64);
});

test('ndjson: a line over maxFrameBytes throws FrameTooLargeError, complete or partial', () => {
  assert.throws(() => new LineDecoder(64).push(`${'x'.repeat(65)}\n`), (e: Error) => e instanceof FrameTooLargeError && e.limit === 64);
  assert.throws(() => new LineDecoder(64).push('x'.repeat(65)), (e: Error) => e instanceof FrameTooLargeError && e.size === 65);
  assert.equal(new LineDecoder(64).push(`${'x'.repeat(64)}\n`), ['x'.repeat(64)]);
});

test('ndjson: a bad maxFrameBytes is refused, naming it, instead of meaning "no limit" or "reject everything" (issue 11, item 10)', () => {
  const named = (cls: typeof TypeError | typeof RangeError) => (e: Error) => e.constructor === cls && /^maxFrameBytes must be an integer >= 64, got /.test(e.message);
  for (const bad of [NaN, {}, '1024', null]) assert.throws(() => new LineDecoder(bad as never), named(TypeError), String(bad));
  for (const bad of [Infinity, -Infinity, 0, -1, 1.5, 63]) assert.throws(() => new LineDecoder(bad), named(RangeError), String(bad));
});

test.run();
