/**
 * ApiGatewayManager through the real AWS SDK client against the emulator,
 * with real `ws` clients on loopback: send, broadcast to 1,000 clients with
 * some gone (each gone one removed from the store), 413, 429 backoff, and
 * isActive caching over a DynamoConnectionStore on dynalite.
 */
import { ApiGatewayManagementApiClient, type PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { SimulatedClock } from 'xstate';
import { createApiGatewayEmulator, type ApiGatewayEmulator, type ApiGatewayEmulatorOptions } from '../../../transports/apigateway/emulator.js';
import { ConnectionGoneError, PayloadTooLargeError, RateLimitedError, isConnectionGone } from '../../../transports/apigateway/errors.js';
import { BroadcastError } from '../../../transports/apigateway/manager/errors.js';
import { ApiGatewayManager } from '../../../transports/apigateway/manager/manager.js';
import type { ApiGatewayManagerOptions } from '../../../transports/apigateway/manager/options.js';
import type { ConnectionStore } from '../../../transports/apigateway/store.js';
import { DynamoConnectionStore } from '../../../transports/apigateway/store/dynamo.js';
import { MemoryConnectionStore } from '../../../transports/apigateway/store/memory.js';
import { startDynalite } from '../../helpers/dynalite.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const test = suite('apigateway manager sdk');
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

interface Client {
  name: string;
  ws: WebSocket;
  id: string;
  received: string[];
}

/**
 * An emulator whose `$connect` stores a record (room from the query), whose
 * `$disconnect` removes it unless the id is in `keepOnDisconnect` (a record
 * left behind: a missed `$disconnect`), and clients connecting to it.
 */
async function harness(store: ConnectionStore, options: ApiGatewayEmulatorOptions = {}) {
  const ids = new Map<string, string>();
  const keepOnDisconnect = new Set<string>();
  const disconnected = new Set<string>();
  const emulator: ApiGatewayEmulator = await createApiGatewayEmulator({
    ...options,
    onConnect: async ({ connectionId, query }) => {
      await store.put({ connectionId, connectedAt: Date.now(), lastPingAt: Date.now(), ...(query.room ? { room: query.room } : {}) });
      ids.set(query.name!, connectionId);
    },
    onDisconnect: async ({ connectionId }) => {
      if (!keepOnDisconnect.has(connectionId)) await store.delete(connectionId);
      disconnected.add(connectionId);
    },
  });
  const clients: Client[] = [];
  const sdk = new ApiGatewayManagementApiClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  const open = async (n: number, room = 'all'): Promise<Client[]> => {
    const batch: Client[] = [];
    for (let i = 0; i < n; i += 100) {
      batch.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(100, n - i) }, async () => {
            const name = `c${clients.length + batch.length}-${Math.random().toString(36).slice(2)}`;
            const ws = new WebSocket(`${emulator.url}?name=${name}&room=${room}`);
            const client: Client = { name, ws, id: '', received: [] };
            ws.on('message', (data) => client.received.push(String(data)));
            await new Promise<void>((resolve, reject) => {
              ws.once('open', () => resolve());
              ws.once('error', reject);
            });
            client.id = ids.get(name)!;
            return client;
          }),
        )),
      );
    }
    clients.push(...batch);
    return batch;
  };
  /** Closes `client` from its side and waits until the emulator has seen it go. */
  const leave = async (client: Client, keepRecord: boolean) => {
    if (keepRecord) keepOnDisconnect.add(client.id);
    client.ws.close();
    await until(() => disconnected.has(client.id), `${client.id} disconnected`);
  };
  const close = async () => {
    for (const c of clients) c.ws.terminate();
    sdk.destroy();
    await emulator.close();
  };
  return { emulator, sdk, open, leave, close };
}

/** Waits (on I/O turns, at most about 10 s) until `done()`; fails the test rather than hang. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(done(), `waited for: ${what}`);
}

function manager(sdk: ApiGatewayManagementApiClient, store: ConnectionStore, options: ApiGatewayManagerOptions = {}) {
  return new ApiGatewayManager({ client: sdk, store, ...options });
}

test('sdk: send and a progress report reach the WebSocket client as the JSON sent', async () => {
  const store = new MemoryConnectionStore();
  const h = await harness(store);
  try {
    const [c] = await h.open(1);
    const m = manager(h.sdk, store);
    await m.send(c!.id, { type: 'hello', text: 'héllo' });
    await m.progressReporter(c!.id, 'req-1').report(50, 'half');
    await until(() => c!.received.length === 2, 'two messages');
    assert.equal(c!.received.map((t) => JSON.parse(t)), [
      { type: 'hello', text: 'héllo' },
      { type: 'progress', request_id: 'req-1', percentage: 50, message: 'half' },
    ]);
    await m.shutdown();
  } finally {
    await h.close();
  }
});

test('sdk: broadcast to 1,000 clients with 100 gone: 900 delivered once each, the 100 gone in a BroadcastError and removed from the store', async () => {
  const store = new MemoryConnectionStore();
  const h = await harness(store);
  try {
    const clients = await h.open(1000);
    const gone = clients.filter((_, i) => i % 10 === 3);
    // Their records stay behind, as when a $disconnect was missed: only the 410 tells.
    await Promise.all(gone.map((c) => h.leave(c, true)));
    assert.is((await store.list({ room: 'all' })).length, 1000);
    const m = manager(h.sdk, store);
    const err = await m.broadcastTo({ room: 'all' }, { type: 'news', n: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, BroadcastError);
    const b = err as BroadcastError;
    assert.equal([b.total, b.sent, b.failed, b.gone], [1000, 900, 100, 100]);
    assert.equal([...b.errors.keys()].sort(), gone.map((c) => c.id).sort());
    assert.ok([...b.errors.values()].every((e) => e instanceof ConnectionGoneError && isConnectionGone(e)));
    await m.shutdown(); // waits for the removals
    const left = new Set((await store.list()).map((r) => r.connectionId));
    assert.is(left.size, 900);
    assert.ok(gone.every((c) => !left.has(c.id)), 'every gone one removed');
    assert.is(m.metricsSnapshot().removed, 100);
    const live = clients.filter((c) => !gone.includes(c));
    await until(() => live.every((c) => c.received.length === 1), 'every live client got it');
    assert.ok(live.every((c) => c.received[0] === '{"type":"news","n":1}'));
    assert.ok(gone.every((c) => c.received.length === 0));
  } finally {
    await h.close();
  }
});

test('sdk: over 128 KB is refused before any request; a 413 from the service is a PayloadTooLargeError', async () => {
  const store = new MemoryConnectionStore();
  const h = await harness(store);
  try {
    const [c] = await h.open(1);
    let requests = 0;
    const counting = { send: (command: PostToConnectionCommand) => (requests++, h.sdk.send(command)) };
    const big = { pad: 'x'.repeat(150 * 1024) };
    const strict = new ApiGatewayManager({ client: counting, store });
    assert.instance(await strict.send(c!.id, big).catch((e: unknown) => e), PayloadTooLargeError);
    assert.is(requests, 0, 'nothing was sent');
    await strict.shutdown();
    // A manager allowing more than the service: the emulator answers 413 and the SDK throws PayloadTooLargeException.
    const loose = new ApiGatewayManager({ client: counting, store, maxPayloadBytes: 256 * 1024 });
    const err = (await loose.send(c!.id, big).catch((e: unknown) => e)) as PayloadTooLargeError;
    assert.instance(err, PayloadTooLargeError);
    assert.is(err.status, 413);
    assert.is((err.cause as Error).name, 'PayloadTooLargeException');
    assert.is(requests, 1);
    await loose.shutdown();
    assert.equal(c!.received, []);
  } finally {
    await h.close();
  }
});

test('sdk: 429 from the service is retried with backoff until every message is through; past maxRetries it is a RateLimitedError', async () => {
  const store = new MemoryConnectionStore();
  const h = await harness(store, { rateLimit: { rps: 100, burst: 2 } });
  try {
    const clients = await h.open(20);
    const m = manager(h.sdk, store, { maxRequestsPerSecond: Infinity, retry: { maxRetries: 50, initialBackoffMs: 10, maxBackoffMs: 100 } });
    assert.equal(await m.broadcast(clients.map((c) => c.id), { n: 1 }, { concurrency: 20 }), { total: 20, sent: 20 });
    const metrics = m.metricsSnapshot();
    assert.ok(metrics.retries > 0, 'some were throttled and retried');
    assert.is(metrics.errors.throttled, 0);
    await until(() => clients.every((c) => c.received.length === 1), 'all delivered once');
    await m.shutdown();
    const impatient = manager(h.sdk, store, { maxRequestsPerSecond: Infinity, retry: { maxRetries: 0 } });
    const err = (await impatient.broadcast(clients.map((c) => c.id), { n: 2 }, { concurrency: 20 }).catch((e: unknown) => e)) as BroadcastError;
    assert.instance(err, BroadcastError);
    assert.ok(err.failed > 0);
    assert.ok([...err.errors.values()].every((e) => e instanceof RateLimitedError && e.attempts === 1));
    await impatient.shutdown();
  } finally {
    await h.close();
  }
});

test('sdk: isActive over a DynamoConnectionStore is cached 30 s; a 410 makes it false at once and removes the record', async () => {
  const dynamo = await startDynalite();
  const store = new DynamoConnectionStore({ client: dynamo.client, tableName: 'connections' });
  await store.createTable();
  const h = await harness(store);
  const clock = new SimulatedClock();
  try {
    const [a, b] = await h.open(2);
    const m = manager(h.sdk, store, { clock, maxRequestsPerSecond: Infinity });
    assert.is(await m.isActive(a!.id), true);
    await h.leave(a!, false); // $disconnect removed the record
    assert.is(await store.get(a!.id), undefined);
    assert.is(await m.isActive(a!.id), true, 'cached');
    clock.increment(30_000);
    assert.is(await m.isActive(a!.id), false, 'looked up again');
    assert.is(await m.isActive(b!.id), true);
    await h.leave(b!, true); // its record stays behind
    const err = await m.send(b!.id, { x: 1 }).catch((e: unknown) => e);
    assert.instance(err, ConnectionGoneError);
    assert.is(await m.isActive(b!.id), false, 'the 410 invalidated the cached true');
    await m.shutdown();
    assert.is(await store.get(b!.id), undefined, 'removed from DynamoDB');
  } finally {
    await h.close();
    await dynamo.close();
  }
});

test.run();
