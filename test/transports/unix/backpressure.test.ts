/**
 * Backpressure on replies (issue 11, defect 4): a UNIX peer that writes and
 * never reads is not read either, and what one connection may hold queued is
 * capped. Real agent in a child process (its heap read after a full GC), real
 * sockets in a temp dir.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createConnection, type Socket } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { EdgeAgentServer, EdgeClient, SocketBufferOverflowError, unixSocketServer } from '../../../transports/unix/index.js';
import type { CloseInfo } from '../../../actors/index.js';
import { LinkClosedError } from '../../../machines/ports/errors.js';
import { sleep, until } from '../../helpers/net.js';
import { tempDir } from '../../helpers/unix.js';
import { agentChild } from './agent-child.js';

const test = suite('backpressure');
const MB = 1024 * 1024;

/** A raw client that never reads: its socket is paused from the start. */
async function deafClient(path: string): Promise<Socket> {
  const s = createConnection({ path });
  s.on('error', () => {});
  s.pause();
  await new Promise((r) => s.once('connect', r));
  return s;
}

test('backpressure: a client flooding bad lines without reading is not read either; the agent heap stays bounded, returns to baseline after it leaves, and another client is served meanwhile (issue 11, defect 4)', async () => {
  const tmp = tempDir();
  const path = tmp.path('agent.sock');
  const agent = await agentChild(path, '--quiet');
  const good = await EdgeClient.open({ path, policy: { reconnect: false } });
  await good.sendEvent('Warmup', 'info', {});
  const baseline = await agent.heap();

  // 1,000,000 lines that are not JSON: each would get a ~50-byte nack (2 MB in, 50 MB of replies).
  const flood = await deafClient(path);
  const LINES = 1_000_000;
  const chunk = 'not json\n'.repeat(1000);
  let flushed = 0; // lines the kernel took from us
  let writing = true;
  void (async () => {
    for (let sent = 0; sent < LINES && writing; sent += 1000) {
      if (!flood.write(chunk, (err) => void (err || (flushed += 1000)))) await new Promise((r) => flood.once('drain', r).once('close', r));
    }
    writing = false;
  })();

  // Watch until the flood is all written (the agent read it all) or it made no progress for 10 samples in a row (the agent stopped reading).
  let peak = baseline;
  let still = 0;
  let served = 0;
  for (let last = -1; writing && still < 10; ) {
    await good.sendEvent('StillServed', 'low', { n: served++ }); // the other client gets its acks meanwhile
    peak = Math.max(peak, await agent.heap());
    still = flushed === last ? still + 1 : 0;
    last = flushed;
    await sleep(50);
  }
  writing = false;
  assert.ok(flushed < LINES, `the agent stopped reading the client that does not read (it took ${flushed} of ${LINES} lines)`);
  assert.ok(peak - baseline < 32 * MB, `agent heap grew by ${((peak - baseline) / MB).toFixed(1)} MB while flooded`);
  assert.ok(served >= 10, 'the well-behaved client was served throughout');

  flood.destroy();
  await good.sendEvent('After', 'info', {});
  let after = await agent.heap();
  for (let i = 0; i < 20 && after - baseline > 2 * MB; i++) after = await agent.heap(); // the flooder's connection is torn down
  assert.ok(after - baseline < 2 * MB, `after the flooder left the agent heap is ${((after - baseline) / MB).toFixed(2)} MB over its baseline`);

  await good.close();
  assert.is(await agent.stop(), 0);
  tmp.remove();
});

test('backpressure: past maxBufferedBytes queued for a peer that does not read, the link ends with SocketBufferOverflowError; in-flight sends reject', async () => {
  const tmp = tempDir();
  const path = tmp.path('srv.sock');
  const server = unixSocketServer({ path, maxBufferedBytes: 256 * 1024 });
  const accepted = firstValueFrom(server.accepted$);
  await server.listen();
  const peer = await deafClient(path);
  const { link } = await accepted;
  const block = 'x'.repeat(64 * 1024);
  const sends: Array<Promise<unknown>> = [];
  let info: CloseInfo | undefined;
  void link.closed.then((i) => (info = i));
  // The kernel takes some first; then our queue grows past the cap.
  for (let i = 0; i < 200 && !info; i++) {
    sends.push(link.send(block).then(() => 'ok', (e: unknown) => e));
    await sleep(1);
  }
  await until(() => info !== undefined, 'the link ended');
  const error = info!.error as SocketBufferOverflowError;
  assert.instance(error, SocketBufferOverflowError);
  assert.is(error.code, 'ERR_SOCKET_BUFFER_OVERFLOW');
  assert.is(error.limit, 256 * 1024);
  assert.ok(error.buffered > error.limit);
  assert.is(error.socketPath, path);
  assert.is(info!.initiatedLocally, false);
  const failed = (await Promise.all(sends)).filter((r) => r !== 'ok');
  assert.ok(failed.length > 0, 'the sends still queued rejected');
  for (const e of failed) {
    assert.instance(e, LinkClosedError);
    assert.is((e as LinkClosedError).cause, error);
  }
  peer.destroy();
  await server.close();
  tmp.remove();
});

test('backpressure: the agent closes a connection over maxBufferedBytes and logs why (warn, typed)', async () => {
  const tmp = tempDir();
  const path = tmp.path('agent.sock');
  const warned: Array<[string, Record<string, unknown> | undefined]> = [];
  const logger = { debug() {}, info() {}, error() {}, warn: (m: string, d?: Record<string, unknown>) => void warned.push([m, d]) };
  const agent = new EdgeAgentServer({ path, maxBufferedBytes: 4096, logger });
  await agent.listen();
  const flood = await deafClient(path);
  flood.write('not json\n'.repeat(20_000)); // 1 MB of nacks for it
  await until(() => warned.length > 0, 'a warning');
  await until(() => agent.listener.supervisor.whichChildren().length === 0, 'the agent closed the flooding connection');
  assert.match(warned[0]![0], /edge agent: closed conn-1: .*the peer is not reading \(\d+ bytes queued, over the 4096-byte limit\)/);
  assert.is(warned[0]![1]?.limit, 4096);
  flood.destroy();
  // Others are served.
  const ok = await EdgeClient.open({ path, policy: { reconnect: false } });
  await ok.sendEvent('Fine', 'info', {});
  await ok.close();
  await agent.close();
  tmp.remove();
});

test('backpressure: maxBufferedBytes is checked (a TypeError or RangeError naming it)', () => {
  assert.throws(() => unixSocketServer({ path: '/tmp/x.sock', maxBufferedBytes: 0 }), (e: Error) => e instanceof RangeError && /options\.maxBufferedBytes must be an integer >= 1, got 0/.test(e.message));
  assert.throws(() => new EdgeAgentServer({ path: '/tmp/x.sock', maxBufferedBytes: '1MB' as never }), (e: Error) => e instanceof TypeError && /options\.maxBufferedBytes/.test(e.message));
});

test.run();
