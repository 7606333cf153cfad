/**
 * Connection stores (issue 13, §2): one behavioural suite, the same cases
 * run against `MemoryConnectionStore` and against `DynamoConnectionStore` on
 * a real dynalite 4 server in this process (port 0, memory-backed) through
 * the real AWS SDK client. Time comes from XState's `SimulatedClock`, so TTL
 * expiry is driven, not waited for. Then what only the Dynamo store has: the
 * table `createTable()` makes, pages of 1 MB, items as stored, and two
 * workers (two clients) on one table.
 */
import { DescribeTableCommand, DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimulatedClock } from 'xstate';
import type { ConnectionRecord, ConnectionStore } from '../../../transports/apigateway/store.js';
import { DynamoConnectionStore } from '../../../transports/apigateway/store/dynamo.js';
import { MemoryConnectionStore } from '../../../transports/apigateway/store/memory.js';
import { startDynalite, type LocalDynamo } from '../../helpers/dynalite.js';

/** A realistic "now": ms since the epoch. */
const T0 = 1_700_000_000_000;
const T0_SECONDS = T0 / 1000;

interface Harness {
  store: ConnectionStore;
  /** A second store over the same records, as a second worker holds: the same store for memory, another client for Dynamo. */
  twin: ConnectionStore;
  clock: SimulatedClock;
  /** The SDK commands sent so far (Dynamo only): proves pages were read. */
  requests?: string[];
  close(): Promise<void>;
}
interface OpenOptions {
  ttlSeconds?: number;
}
type Open = (options?: OpenOptions) => Promise<Harness>;

const rec = (connectionId: string, extra: Partial<ConnectionRecord> = {}): ConnectionRecord => ({ connectionId, connectedAt: T0, lastPingAt: T0, ...extra });
const ids = (records: ConnectionRecord[]) => records.map((r) => r.connectionId).sort();

async function rejects(promise: Promise<unknown>, type: typeof TypeError | typeof RangeError, pattern: RegExp) {
  try {
    await promise;
  } catch (err) {
    assert.instance(err, type, `${(err as Error).name}: ${(err as Error).message}`);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`should have rejected with ${type.name} ${pattern}`);
}

/** Every store is held to these. */
function storeSuite(name: string, open: Open) {
  const test = suite(`store: ${name}`);
  const withStore = (title: string, fn: (h: Harness) => Promise<void>, options?: OpenOptions) =>
    test(`${name} store: ${title}`, async () => {
      const h = await open(options);
      try {
        await fn(h);
      } finally {
        await h.close();
      }
    });

  withStore('put then get returns the record with its tags, room and data; an unknown id is undefined', async ({ store }) => {
    const record = rec('abc=', { lastPingAt: T0 + 5, tags: ['user:42', 'tenant:acme'], room: 'lobby', data: { name: 'Ada', n: 1.5, nested: { list: [1, 'two', null, true] }, empty: '' }, expiresAt: T0_SECONDS + 3600 });
    await store.put(record);
    assert.equal(await store.get('abc='), record);
    assert.equal(await store.get('minimal'), undefined);
    await store.put(rec('minimal'));
    assert.equal(await store.get('minimal'), rec('minimal'), 'members never given stay absent (no undefined, no null)');
    assert.not.ok('tags' in (await store.get('minimal'))!);
  });

  withStore('the stored record is a copy: changing the one put or the one got changes nothing stored', async ({ store }) => {
    const record = rec('a', { tags: ['t'], data: { x: { y: 1 } } });
    await store.put(record);
    record.tags!.push('u');
    (record.data!.x as { y: number }).y = 2;
    const got = (await store.get('a'))!;
    assert.equal(got, rec('a', { tags: ['t'], data: { x: { y: 1 } } }));
    got.tags!.push('v');
    got.lastPingAt = 0;
    assert.equal(await store.get('a'), rec('a', { tags: ['t'], data: { x: { y: 1 } } }));
    assert.equal(ids(await store.list({ tag: 'u' })), []);
  });

  withStore('put replaces: the old tags, room and data are gone, lists follow the new record', async ({ store }) => {
    await store.put(rec('a', { tags: ['old', 'both'], room: 'r1', data: { v: 1 } }));
    await store.put(rec('a', { connectedAt: T0 + 1, tags: ['both', 'new'], room: 'r2' }));
    assert.equal(await store.get('a'), rec('a', { connectedAt: T0 + 1, tags: ['both', 'new'], room: 'r2' }));
    assert.equal(ids(await store.list({ tag: 'old' })), []);
    assert.equal(ids(await store.list({ tag: 'both' })), ['a']);
    assert.equal(ids(await store.list({ tag: 'new' })), ['a']);
    assert.equal(ids(await store.list({ room: 'r1' })), []);
    assert.equal(ids(await store.list({ room: 'r2' })), ['a']);
    await store.put(rec('a'));
    assert.equal(await store.get('a'), rec('a'));
    assert.equal(ids(await store.list({ tag: 'both' })), []);
    assert.equal(ids(await store.list({ room: 'r2' })), []);
    assert.equal(ids(await store.list()), ['a']);
  });

  withStore('delete resolves true when it removed the record, then false; the record leaves every list', async ({ store }) => {
    await store.put(rec('a', { tags: ['t'], room: 'r' }));
    await store.put(rec('b', { tags: ['t'], room: 'r' }));
    assert.is(await store.delete('a'), true);
    assert.is(await store.delete('a'), false);
    assert.is(await store.delete('never'), false);
    assert.equal(await store.get('a'), undefined);
    assert.equal(ids(await store.list()), ['b']);
    assert.equal(ids(await store.list({ tag: 't' })), ['b']);
    assert.equal(ids(await store.list({ room: 'r' })), ['b']);
  });

  withStore('two workers deleting the same ids at once: for each id exactly one delete is true', async ({ store, twin }) => {
    const n = 30;
    for (let i = 0; i < n; i++) await store.put(rec(`c${i}`, { tags: ['t'] }));
    const results = await Promise.all(Array.from({ length: n }, (_, i) => Promise.all([store.delete(`c${i}`), twin.delete(`c${i}`)])));
    for (const [i, pair] of results.entries()) assert.is(pair.filter(Boolean).length, 1, `c${i}: ${pair}`);
    assert.equal(await store.list(), []);
    assert.equal(await twin.list({ tag: 't' }), []);
  });

  withStore('updateLastPing sets lastPingAt (default: now on the clock) and changes nothing else', async ({ store, twin, clock }) => {
    await store.put(rec('a', { tags: ['t'], room: 'r', data: { k: 'v' } }));
    await twin.updateLastPing('a', T0 + 42);
    assert.equal(await store.get('a'), rec('a', { lastPingAt: T0 + 42, tags: ['t'], room: 'r', data: { k: 'v' } }));
    clock.increment(1234);
    await store.updateLastPing('a');
    assert.is((await store.get('a'))!.lastPingAt, T0 + 1234);
    assert.is((await store.list({ tag: 't' }))[0]!.lastPingAt, T0 + 1234, 'lists read the same record');
  });

  withStore('updateLastPing on a missing id resolves and creates nothing', async ({ store }) => {
    await store.updateLastPing('ghost', T0);
    await store.updateLastPing('ghost');
    assert.equal(await store.get('ghost'), undefined);
    assert.equal(await store.list(), []);
    await store.put(rec('gone'));
    await store.delete('gone');
    await store.updateLastPing('gone');
    assert.equal(await store.get('gone'), undefined, 'a deleted record is not brought back');
  });

  withStore('list: all, by tag, by room, over more than one page', async ({ store, requests }) => {
    const n = 11;
    for (let i = 0; i < n; i++) {
      const tags = ['all', i % 2 ? 'odd' : 'even', ...(i === 3 ? ['three'] : [])];
      await store.put(rec(`id${String(i).padStart(2, '0')}`, { tags, room: i < 9 ? 'big' : 'small' }));
    }
    await store.put(rec('loner'));
    const every = Array.from({ length: n }, (_, i) => `id${String(i).padStart(2, '0')}`);
    const sent = requests?.length ?? 0;
    assert.equal(ids(await store.list()), [...every, 'loner'].sort());
    assert.equal(ids(await store.list({})), [...every, 'loner'].sort());
    assert.equal(ids(await store.list({ tag: 'all' })), every);
    assert.equal(ids(await store.list({ tag: 'odd' })), every.filter((_, i) => i % 2));
    assert.equal(ids(await store.list({ tag: 'three' })), ['id03']);
    assert.equal(ids(await store.list({ tag: 'nobody' })), []);
    assert.equal(ids(await store.list({ room: 'big' })), every.slice(0, 9));
    assert.equal(ids(await store.list({ room: 'small' })), ['id09', 'id10']);
    assert.equal(ids(await store.list({ room: 'none' })), []);
    if (requests) {
      const reads = requests.slice(sent);
      assert.ok(reads.filter((c) => c === 'ScanCommand').length >= 6, `the scan read several pages: ${reads}`);
      assert.ok(reads.filter((c) => c === 'QueryCommand').length >= 2 * 3 + 3, `the queries read several pages: ${reads}`);
    }
  });

  withStore('TTL: a record is returned until its expiresAt, then never again (get, list, delete, updateLastPing)', async ({ store, clock }) => {
    await store.put(rec('a', { tags: ['t'], room: 'r', expiresAt: T0_SECONDS + 60 }));
    await store.put(rec('b', { tags: ['t'], room: 'r' }));
    clock.increment(59_999);
    assert.ok(await store.get('a'));
    assert.equal(ids(await store.list({ tag: 't' })), ['a', 'b']);
    clock.increment(1);
    assert.equal(await store.get('a'), undefined);
    assert.equal(ids(await store.list()), ['b']);
    assert.equal(ids(await store.list({ tag: 't' })), ['b']);
    assert.equal(ids(await store.list({ room: 'r' })), ['b']);
    await store.updateLastPing('a');
    assert.equal(await store.get('a'), undefined, 'an expired record is not brought back');
    assert.is(await store.delete('a'), false, 'an expired record counts as gone');
    await store.put(rec('a', { expiresAt: T0_SECONDS + 120 }));
    assert.ok(await store.get('a'), 'a put after expiry stores it again');
  });

  withStore(
    'ttlSeconds: a record put without expiresAt expires ttlSeconds after the put; one with expiresAt keeps it',
    async ({ store, clock }) => {
      clock.increment(500);
      await store.put(rec('a'));
      await store.put(rec('b', { expiresAt: T0_SECONDS + 10_000 }));
      assert.is((await store.get('a'))!.expiresAt, T0_SECONDS + 1 + 30, 'now rounded up to the second, plus ttlSeconds');
      clock.increment(30_500);
      assert.equal(ids(await store.list()), ['b']);
    },
    { ttlSeconds: 30 },
  );

  withStore('bad input is a TypeError or RangeError naming the argument, and stores nothing', async ({ store }) => {
    await rejects(store.put(rec('')), TypeError, /^record\.connectionId must be a non-empty string, got ""/);
    await rejects(store.put(null as never), TypeError, /^record must be an object/);
    await rejects(store.put(rec('a', { connectedAt: Number.NaN })), TypeError, /^record\.connectedAt must be a finite number >= 0, got NaN/);
    await rejects(store.put(rec('a', { lastPingAt: -1 })), RangeError, /^record\.lastPingAt /);
    await rejects(store.put(rec('a', { lastPingAt: undefined as never })), TypeError, /^record\.lastPingAt /);
    await rejects(store.put(rec('a', { tags: ['ok', 7 as never] })), TypeError, /^record\.tags\[1\] must be a non-empty string, got 7/);
    await rejects(store.put(rec('a', { tags: 'user:1' as never })), TypeError, /^record\.tags must be an array/);
    await rejects(store.put(rec('a', { tags: [''] })), TypeError, /^record\.tags\[0\]/);
    await rejects(store.put(rec('a', { room: '' })), TypeError, /^record\.room /);
    await rejects(store.put(rec('a', { data: { n: 1n } })), TypeError, /^record\.data must be JSON-serialisable/);
    await rejects(store.put(rec('a', { data: [1] as never })), TypeError, /^record\.data must be a plain object/);
    await rejects(store.put(rec('a', { expiresAt: Infinity })), RangeError, /^record\.expiresAt /);
    await rejects(store.get(''), TypeError, /^connectionId must be a non-empty string/);
    await rejects(store.get(undefined as never), TypeError, /^connectionId /);
    await rejects(store.delete(42 as never), TypeError, /^connectionId must be a non-empty string, got 42/);
    await rejects(store.updateLastPing(''), TypeError, /^connectionId /);
    await rejects(store.updateLastPing('a', Number.NaN), TypeError, /^at must be a finite number >= 0, got NaN/);
    await rejects(store.list({ tags: 'x' } as never), TypeError, /^filter must be \{ tag \} or \{ room \} or \{\}, got keys tags/);
    await rejects(store.list({ tag: 'x', room: 'y' } as never), TypeError, /^filter must be/);
    await rejects(store.list({ tag: '' }), TypeError, /^filter\.tag /);
    await rejects(store.list({ room: 3 } as never), TypeError, /^filter\.room /);
    await rejects(store.list('all' as never), TypeError, /^filter must be an object/);
    assert.equal(await store.list(), [], 'nothing was stored');
    assert.equal(ids(await store.list({ tag: undefined } as never)), [], '{ tag: undefined } is {}');
  });

  test.run();
}

storeSuite('memory', async ({ ttlSeconds } = {}) => {
  const clock = new SimulatedClock();
  clock.set(T0);
  const store = new MemoryConnectionStore({ clock, ttlSeconds });
  return { store, twin: store, clock, close: async () => {} };
});

/** A table on a fresh dynalite; two stores on two clients (two workers); small pages, so 11 records take several. */
async function openDynamo({ ttlSeconds }: OpenOptions = {}): Promise<Harness> {
  const local = await startDynalite();
  try {
    const clock = new SimulatedClock();
    clock.set(T0);
    const requests: string[] = [];
    local.client.middlewareStack.add((next, context) => (args) => (requests.push(String(context.commandName)), next(args)), { step: 'initialize' });
    const store = new DynamoConnectionStore({ client: local.client, tableName: 'connections', clock, ttlSeconds, pageSize: 4 });
    await store.createTable();
    const twin = new DynamoConnectionStore({ client: local.newClient(), tableName: 'connections', clock, ttlSeconds, pageSize: 4 });
    return { store, twin, clock, requests, close: () => local.close() };
  } catch (err) {
    await local.close();
    throw err;
  }
}
storeSuite('dynamo', openDynamo);

// What only the Dynamo store has.
const dynamo = suite('store: dynamo table');

async function withDynalite(fn: (local: LocalDynamo) => Promise<void>) {
  const local = await startDynalite();
  try {
    await fn(local);
  } finally {
    await local.close();
  }
}

dynamo('dynamo store: createTable makes the table, its byGroup index and says TTL is unsupported on dynalite; a second call changes nothing', () =>
  withDynalite(async ({ client }) => {
    const store = new DynamoConnectionStore({ client, tableName: 'conns' });
    assert.equal(await store.createTable(), { created: true, ttlEnabled: false });
    assert.equal(await store.createTable(), { created: false, ttlEnabled: false });
    const { Table } = await client.send(new DescribeTableCommand({ TableName: 'conns' }));
    assert.is(Table!.TableStatus, 'ACTIVE');
    assert.equal(Table!.KeySchema, [
      { AttributeName: 'connectionId', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    const index = Table!.GlobalSecondaryIndexes![0]!;
    assert.is(index.IndexName, 'byGroup');
    assert.equal(index.KeySchema, [
      { AttributeName: 'groupKey', KeyType: 'HASH' },
      { AttributeName: 'connectionId', KeyType: 'RANGE' },
    ]);
  }),
);

dynamo('dynamo store: items as stored: only members the record has, one membership item per distinct tag, none left after a replace and a delete', () =>
  withDynalite(async ({ client }) => {
    const clock = new SimulatedClock();
    clock.set(T0);
    const store = new DynamoConnectionStore({ client, tableName: 'conns', clock });
    await store.createTable();
    await store.put(rec('bare'));
    const { Item } = await client.send(new GetItemCommand({ TableName: 'conns', Key: { connectionId: { S: 'bare' }, sk: { S: 'record' } } }));
    assert.equal(Object.keys(Item!).sort(), ['connectedAt', 'connectionId', 'lastPingAt', 'sk']);
    await store.put(rec('a', { tags: ['x', 'y', 'x'], room: 'r', data: { d: 1 }, expiresAt: T0_SECONDS + 99 }));
    const keys = async () => ((await client.send(new ScanCommand({ TableName: 'conns' }))).Items ?? []).map((i) => `${i.connectionId!.S} ${i.sk!.S}${i.expiresAt ? ` exp` : ''}`).sort();
    assert.equal(await keys(), ['a record exp', 'a tag#x exp', 'a tag#y exp', 'bare record']);
    assert.equal((await store.get('a'))!.tags, ['x', 'y', 'x'], 'the record keeps the tags as given');
    await store.put(rec('a', { tags: ['y', 'z'] }));
    assert.equal(await keys(), ['a record', 'a tag#y', 'a tag#z', 'bare record']);
    assert.is(await store.delete('a'), true);
    assert.equal(await keys(), ['bare record']);
  }),
);

/**
 * A store on its own client whose next BatchWriteItem (the membership writes
 * after a put or delete) waits until `release()`: a second worker paused at
 * the worst moment.
 */
function pausedWorker(local: LocalDynamo, clock: SimulatedClock) {
  const client = local.newClient();
  let arrived!: () => void;
  let release!: () => void;
  const atWrite = new Promise<void>((r) => (arrived = r));
  const gate = new Promise<void>((r) => (release = r));
  let held = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchWriteItemCommand' && !held) {
        held = true;
        arrived();
        await gate;
      }
      return next(args);
    },
    { step: 'initialize' },
  );
  return { store: new DynamoConnectionStore({ client, tableName: 'conns', clock }), atWrite, release };
}

dynamo('dynamo store: a put that resolved keeps its tag listed when a slower put or delete of the same id removes that membership after it', () =>
  withDynalite(async (local) => {
    const clock = new SimulatedClock();
    clock.set(T0);
    const store = new DynamoConnectionStore({ client: local.client, tableName: 'conns', clock });
    await store.createTable();
    // A put dropping tag x, paused before it deletes x's membership; a put with x runs to the end meanwhile.
    await store.put(rec('a', { tags: ['x'] }));
    const slowPut = pausedWorker(local, clock);
    const dropping = slowPut.store.put(rec('a', { tags: [] }));
    await slowPut.atWrite;
    await store.put(rec('a', { tags: ['x'], room: 'final' }));
    slowPut.release();
    await dropping;
    assert.equal(await store.get('a'), rec('a', { tags: ['x'], room: 'final' }), 'the later put wrote the record last');
    assert.equal(ids(await store.list({ tag: 'x' })), ['a'], 'and its tag is listed');
    // The same with a delete: it removed the record, a put stored it again before the delete's cleanup.
    const slowDelete = pausedWorker(local, clock);
    const deleting = slowDelete.store.delete('a');
    await slowDelete.atWrite;
    await store.put(rec('a', { tags: ['x'] }));
    slowDelete.release();
    assert.is(await deleting, true);
    assert.equal(ids(await store.list({ tag: 'x' })), ['a']);
  }),
);

dynamo('dynamo store: an item past its expiresAt stays in the table (TTL deletion is lazy) and is left out of every read', () =>
  withDynalite(async ({ client }) => {
    const clock = new SimulatedClock();
    clock.set(T0);
    const store = new DynamoConnectionStore({ client, tableName: 'conns', clock });
    await store.createTable();
    await store.put(rec('old', { tags: ['t'], room: 'r', expiresAt: T0_SECONDS - 1 }));
    const { Item } = await client.send(new GetItemCommand({ TableName: 'conns', Key: { connectionId: { S: 'old' }, sk: { S: 'record' } } }));
    assert.ok(Item, 'the item is there');
    assert.equal(await store.get('old'), undefined);
    assert.equal(await store.list(), []);
    assert.equal(await store.list({ tag: 't' }), []);
    assert.equal(await store.list({ room: 'r' }), []);
    assert.is(await store.delete('old'), false);
  }),
);

dynamo('dynamo store: list reads past DynamoDB 1 MB pages (no pageSize): every record of a 1.3 MB table, from several Scan and Query requests', () =>
  withDynalite(async ({ client }) => {
    const store = new DynamoConnectionStore({ client, tableName: 'conns' });
    await store.createTable();
    const n = 320;
    const filler = 'x'.repeat(4000); // about 4 KB a record: 320 records are about 1.3 MB
    const puts = Array.from({ length: n }, (_, i) => rec(`c${String(i).padStart(3, '0')}`, { room: 'all', data: { filler } }));
    for (let i = 0; i < n; i += 20) await Promise.all(puts.slice(i, i + 20).map((r) => store.put(r)));
    const commands: string[] = [];
    client.middlewareStack.add((next, context) => (args) => (commands.push(String(context.commandName)), next(args)), { step: 'initialize' });
    const all = await store.list();
    assert.is(all.length, n);
    assert.equal(ids(all), puts.map((r) => r.connectionId));
    assert.ok(commands.filter((c) => c === 'ScanCommand').length >= 2, `scan pages: ${commands}`);
    commands.length = 0;
    assert.is((await store.list({ room: 'all' })).length, n);
    assert.ok(commands.filter((c) => c === 'QueryCommand').length >= 2, `query pages: ${commands}`);
  }),
);

dynamo('dynamo store: options are checked: client, tableName, pageSize, ttlSeconds, clock', async () => {
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  try {
    const bad = (options: unknown, type: typeof TypeError, pattern: RegExp) =>
      assert.throws(
        () => new DynamoConnectionStore(options as never),
        (err: Error) => err instanceof type && pattern.test(err.message),
      );
    bad(undefined, TypeError, /^options must be an object/);
    bad({ tableName: 'conns' }, TypeError, /^options\.client must have send/);
    bad({ client }, TypeError, /^options\.tableName must be a non-empty string/);
    bad({ client, tableName: 'ab' }, RangeError, /^options\.tableName must be 3 to 255 characters/);
    bad({ client, tableName: 'my table' }, RangeError, /^options\.tableName /);
    bad({ client, tableName: 'conns', pageSize: 0 }, RangeError, /^options\.pageSize must be an integer >= 1, got 0/);
    bad({ client, tableName: 'conns', ttlSeconds: 0 }, RangeError, /^options\.ttlSeconds must be a finite number > 0, got 0/);
    bad({ client, tableName: 'conns', ttlSeconds: Number.NaN }, TypeError, /^options\.ttlSeconds /);
    bad({ client, tableName: 'conns', clock: {} }, TypeError, /^options\.clock must have now/);
    assert.throws(() => new MemoryConnectionStore({ ttlSeconds: -1 }), (err: Error) => err instanceof RangeError && /^options\.ttlSeconds /.test(err.message));
    assert.throws(() => new MemoryConnectionStore({ clock: { now: 1 } as never }), (err: Error) => err instanceof TypeError && /^options\.clock must have now/.test(err.message));
  } finally {
    client.destroy();
  }
});

dynamo.run();
