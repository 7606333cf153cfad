/** Framing operators: frames out of chunks however they are split or merged, bounded memory, checked options. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import {
  DEFAULT_MAX_FRAME_BYTES,
  DelimitedDecoder,
  delimited,
  encodeDelimited,
  encodeLengthPrefixed,
  FrameTooLargeError,
  LengthPrefixedDecoder,
  lengthPrefixed,
  TruncatedFrameError,
} from '../../../transports/tcp/framing.js';
import { seededRandom } from '../../../machines/backoff.js';
import { createSupervisor, silentLogger } from '../../../actors/supervisor.js';
import { tcpTransport } from '../../../transports/tcp/tcp.transport.js';
import { tcpServer } from '../../helpers/tls.js';
import { until } from '../../helpers/net.js';
import type { Payload } from '../../../machines/ports/transport.js';

const test = suite('tcp framing');
const text = (f: Uint8Array) => Buffer.from(f).toString('utf8');
const bytes = (...parts: Array<Uint8Array | string>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

/** `data` cut at random places into `n`-ish chunks (seeded), every cut kept, 1-byte chunks included. */
function cut(data: Uint8Array, seed: number): Uint8Array[] {
  const random = seededRandom(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; ) {
    const n = 1 + Math.floor(random() * (random() < 0.3 ? 3 : 40));
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

const frames = (chunks: Payload[], op: ReturnType<typeof lengthPrefixed>) => lastValueFrom(from(chunks).pipe(op, toArray()));

test('lengthPrefixed: frames come out whole whatever the chunking (1, 2, 4-byte prefixes, empty frames too)', async () => {
  const messages = ['hello', '', 'x'.repeat(200), 'é ünïcode', '{"op":"ping"}'];
  for (const n of [1, 2, 4] as const) {
    const wire = bytes(...messages.map((m) => encodeLengthPrefixed(m, { bytes: n })));
    for (let seed = 1; seed <= 20; seed++) {
      const got = await frames(cut(wire, seed), lengthPrefixed({ bytes: n }));
      assert.equal(got.map(text), messages, `bytes ${n}, seed ${seed}`);
    }
    // All in one chunk, and one byte at a time.
    assert.equal((await frames([wire], lengthPrefixed({ bytes: n }))).map(text), messages);
    assert.equal((await frames([...wire].map((b) => Uint8Array.of(b)), lengthPrefixed({ bytes: n }))).map(text), messages);
  }
});

test('lengthPrefixed: the header is big-endian; the default prefix is 4 bytes', () => {
  assert.equal([...encodeLengthPrefixed('ab')], [0, 0, 0, 2, 97, 98]);
  assert.equal([...encodeLengthPrefixed(new Uint8Array(258), { bytes: 2 }).subarray(0, 2)], [1, 2]);
  const d = new LengthPrefixedDecoder({ bytes: 2 });
  assert.equal(d.push(Uint8Array.of(0, 3, 1, 2)), []);
  assert.equal(d.push(Uint8Array.of(3, 0)).map((f) => [...f]), [[1, 2, 3]]);
});

test('lengthPrefixed: each frame is its own copy, not a view of the chunk it came in', () => {
  const chunk = Buffer.from(encodeLengthPrefixed('abc'));
  const [frame] = new LengthPrefixedDecoder().push(chunk);
  chunk.fill(0);
  assert.is(text(frame!), 'abc');
});

test('lengthPrefixed: a header over maxFrameBytes errors at once, before its body is buffered', async () => {
  const source = new Subject<Payload>();
  let error: unknown;
  const got: string[] = [];
  source.pipe(lengthPrefixed({ bytes: 4, maxFrameBytes: 100 })).subscribe({ next: (f) => got.push(text(f)), error: (e) => (error = e) });
  source.next(encodeLengthPrefixed('ok'));
  source.next(Uint8Array.of(0, 0, 0x10, 0)); // announces 4096 bytes; no body sent
  assert.equal(got, ['ok']);
  assert.instance(error, FrameTooLargeError);
  assert.is((error as FrameTooLargeError).limit, 100);
  assert.is((error as FrameTooLargeError).size, 4096);
  assert.is((error as FrameTooLargeError).code, 'ERR_FRAME_TOO_LARGE');
  assert.ok(!source.observed, 'the source is unsubscribed');
});

test('lengthPrefixed: a stream that ends inside a frame errors with TruncatedFrameError, never drops it silently', async () => {
  const wire = bytes(encodeLengthPrefixed('whole'), encodeLengthPrefixed('cut short'));
  const got: string[] = [];
  const err = await lastValueFrom(from([wire.subarray(0, wire.length - 3)]).pipe(lengthPrefixed())).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, TruncatedFrameError);
  assert.is((err as TruncatedFrameError).expected, 9);
  assert.is((err as TruncatedFrameError).received, 6);
  // Inside a header.
  const inHeader = await lastValueFrom(from([Uint8Array.of(0, 0)]).pipe(lengthPrefixed())).then(() => undefined, (e: unknown) => e);
  assert.instance(inHeader, TruncatedFrameError);
  assert.is((inHeader as TruncatedFrameError).expected, undefined);
  // A clean end completes.
  from([wire]).pipe(lengthPrefixed()).subscribe((f) => got.push(text(f)));
  assert.equal(got, ['whole', 'cut short']);
});

test('delimited: frames come out whole whatever the chunking, for one- and multi-byte delimiters', async () => {
  const messages = ['alpha', '', 'b'.repeat(300), 'ünï', 'last'];
  for (const delimiter of ['\n', '\r\n', '<END>', 'aab']) {
    const wire = Buffer.from(messages.map((m) => `${m}${delimiter}`).join(''));
    for (let seed = 1; seed <= 25; seed++) {
      const got = await frames(cut(wire, seed), delimited({ delimiter }));
      assert.equal(got.map(text), messages, `delimiter ${JSON.stringify(delimiter)}, seed ${seed}`);
    }
    const one = await frames([...wire].map((b) => Uint8Array.of(b)), delimited({ delimiter }));
    assert.equal(one.map(text), messages, `one byte at a time, ${JSON.stringify(delimiter)}`);
  }
});

test('delimited: a delimiter whose start repeats ("aab" after "a") is found across chunk edges', () => {
  const d = new DelimitedDecoder({ delimiter: 'aab' });
  assert.equal(d.push('xa'), []);
  assert.equal(d.push('a'), []);
  assert.equal(d.push('aby').map(text), ['xa']);
  assert.equal(d.push('aab').map(text), ['y']);
});

test('delimited: bytes after the last delimiter come as a last frame when the stream completes', async () => {
  assert.equal((await frames(['one\ntwo\nthr', 'ee'], delimited())).map(text), ['one', 'two', 'three']);
  assert.equal((await frames(['one\n'], delimited())).map(text), ['one']);
});

test('delimited: more than maxFrameBytes without a delimiter errors, complete or partial; at the limit passes', async () => {
  const over = await frames([`${'x'.repeat(65)}\n`], delimited({ maxFrameBytes: 64 })).then(() => undefined, (e: unknown) => e);
  assert.instance(over, FrameTooLargeError);
  const partial = new DelimitedDecoder({ maxFrameBytes: 64 });
  assert.throws(() => partial.push('x'.repeat(65)), (e: Error) => e instanceof FrameTooLargeError && e.size === 65);
  // Held bytes are bounded while they arrive in small chunks too.
  const small = new DelimitedDecoder({ maxFrameBytes: 1000, delimiter: '\r\n' });
  assert.throws(() => {
    for (let i = 0; i < 2000; i++) small.push('y');
  }, (e: Error) => e instanceof FrameTooLargeError);
  assert.equal((await frames([`${'x'.repeat(64)}\n`], delimited({ maxFrameBytes: 64 }))).map((f) => f.length), [64]);
  // A frame at the limit whose multi-byte delimiter is still arriving is not over it.
  const edge = new DelimitedDecoder({ maxFrameBytes: 4, delimiter: '<END>' });
  assert.equal(edge.push('abcd<EN'), []);
  assert.equal(edge.push('D>').map(text), ['abcd']);
});

test('framing: each subscription has its own decoder', async () => {
  const op = lengthPrefixed({ bytes: 1 });
  const wire = encodeLengthPrefixed('abc', { bytes: 1 });
  assert.equal((await frames([wire.subarray(0, 2)], op).catch(() => 'truncated')) as unknown, 'truncated');
  assert.equal((await frames([wire], op)).map(text), ['abc'], 'the first run left nothing behind');
});

test('framing: encoders refuse what the peer could not read back', () => {
  assert.throws(() => encodeLengthPrefixed(new Uint8Array(256), { bytes: 1 }), (e: Error) => e instanceof RangeError && /at most 255 bytes \(a 1-byte length prefix\), got 256/.test(e.message));
  assert.throws(() => encodeLengthPrefixed('xxxxx', { maxFrameBytes: 4 }), (e: Error) => e instanceof RangeError && /options\.maxFrameBytes/.test(e.message));
  assert.throws(() => encodeDelimited('two\nlines'), (e: Error) => e instanceof RangeError && /must not contain the delimiter/.test(e.message));
  assert.equal(text(encodeDelimited('one', { delimiter: '\r\n' })), 'one\r\n');
  assert.throws(() => encodeDelimited(42 as never), (e: Error) => e instanceof TypeError && /^frame must be a string or Uint8Array/.test(e.message));
});

test('framing: bad options are refused at once, naming them', () => {
  const is = (cls: ErrorConstructor, re: RegExp) => (e: Error) => e.constructor === cls && re.test(e.message);
  assert.throws(() => lengthPrefixed({ bytes: 3 as never }), is(TypeError, /^options\.bytes must be one of 1, 2, 4, got 3/));
  assert.throws(() => lengthPrefixed({ bytes: 1, maxFrameBytes: 256 }), is(RangeError, /^options\.maxFrameBytes must be an integer within 0\.\.255, got 256/));
  assert.throws(() => lengthPrefixed({ maxFrameBytes: NaN }), is(TypeError, /^options\.maxFrameBytes/));
  assert.throws(() => lengthPrefixed(null as never), is(TypeError, /^options must be an object/));
  assert.throws(() => delimited({ delimiter: '' }), is(RangeError, /^options\.delimiter must be 1 to 64 bytes, got 0/));
  assert.throws(() => delimited({ delimiter: 10 as never }), is(TypeError, /^options\.delimiter must be a string or a Uint8Array, got 10/));
  assert.throws(() => delimited({ maxFrameBytes: 0 }), is(RangeError, /^options\.maxFrameBytes must be an integer >= 1, got 0/));
  assert.is(new LengthPrefixedDecoder().maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
  assert.is(new LengthPrefixedDecoder({ bytes: 2 }).maxFrameBytes, 65535);
  assert.is(new DelimitedDecoder().maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
});

test('framing: over real TCP links, chosen per connection (length-prefixed on one, delimited on another, through supervisor handles)', async () => {
  const server = await tcpServer();
  const sup = createSupervisor({ logger: silentLogger });
  try {
    sup.startChild({ id: 'binary', transport: tcpTransport({ host: '127.0.0.1', port: server.port }) });
    const binaryPeer = await server.next();
    sup.startChild({ id: 'text', transport: tcpTransport({ host: '127.0.0.1', port: server.port }) });
    const textPeer = await server.next();
    const binary: string[] = [];
    const lines: string[] = [];
    sup.connection('binary').data$.pipe(lengthPrefixed({ bytes: 2 })).subscribe((f) => binary.push(text(f)));
    sup.connection('text').data$.pipe(delimited({ delimiter: '\r\n' })).subscribe((f) => lines.push(text(f)));
    // Written a few bytes at a time, each write flushed on its own turn: frames arrive cut across reads.
    const trickle = async (socket: typeof binaryPeer, wire: Uint8Array) => {
      for (const part of cut(wire, 7)) {
        await new Promise<void>((r) => socket.write(part, () => r()));
        await new Promise((r) => setImmediate(r));
      }
    };
    const frames = ['first', 'x'.repeat(3000), '', 'last'];
    await trickle(binaryPeer, bytes(...frames.map((f) => encodeLengthPrefixed(f, { bytes: 2 }))));
    await trickle(textPeer, Buffer.from('GET /a\r\nHost: b\r\n\r\n'));
    await until(() => binary.length === frames.length && lines.length === 3, 'every frame');
    assert.equal(binary, frames);
    assert.equal(lines, ['GET /a', 'Host: b', '']);
  } finally {
    await sup.shutdown();
    await server.close();
  }
});

test.run();
