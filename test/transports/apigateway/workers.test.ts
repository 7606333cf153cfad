/**
 * Past one machine (issue 13 §5): two worker processes, each an
 * ApiGatewayManager over one shared DynamoConnectionStore (dynalite) and one
 * emulator. Clients registered by worker A get a broadcast sent by worker B;
 * a client that goes away is removed once, by whichever worker saw the 410
 * first, though both saw it.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { createApiGatewayEmulator } from '../../../transports/apigateway/emulator.js';
import { DynamoConnectionStore } from '../../../transports/apigateway/store/dynamo.js';
import { startDynalite } from '../../helpers/dynalite.js';
import { spawnLines, type Spawned } from '../../helpers/spawn.js';
import { until } from '../../helpers/net.js';

const test = suite('apigateway workers');

test('two workers, one store: A registers, B broadcasts, a gone client is removed exactly once', async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const dynamo = await startDynalite();
  const store = new DynamoConnectionStore({ client: dynamo.client, tableName: 'connections' });
  await store.createTable();
  const emulator = await createApiGatewayEmulator();
  const clients: WebSocket[] = [];
  const workers: Spawned[] = [];
  try {
    const ids: string[] = [];
    const off = emulator.on('connect', (c) => ids.push(c.connectionId));
    const received = new Map<WebSocket, string[]>();
    for (let i = 0; i < 5; i++) {
      const ws = new WebSocket(emulator.url);
      received.set(ws, []);
      ws.on('message', (d) => received.get(ws)!.push(String(d)));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      clients.push(ws);
    }
    off();
    assert.is(ids.length, 5);
    const env = { ...process.env, DYNAMO_ENDPOINT: dynamo.endpoint, WEBSOCKET_ENDPOINT: emulator.endpoint, TABLE: 'connections' };
    for (const name of ['A', 'B']) {
      const w = spawnLines(process.execPath, ['--import', 'tsx', 'test/fixtures/apigw-worker.ts'], { stdin: true, env: { ...env, WORKER: name } });
      workers.push(w);
    }
    const [a, b] = workers as [Spawned, Spawned];
    const tell = (w: Spawned, o: unknown) => w.child.stdin!.write(`${JSON.stringify(o)}\n`);

    tell(a, { cmd: 'register', ids, tag: 'room-1' });
    await a.waitFor(/"registered":5/, 20_000);
    tell(b, { cmd: 'broadcastTo', tag: 'room-1', message: { hello: 'from B' } });
    assert.match(await b.waitFor(/"broadcast"/, 20_000), /"sent":5,"failed":0/);
    await until(() => [...received.values()].every((m) => m.length === 1), 'every client to get B\'s broadcast');
    assert.ok([...received.values()].every((m) => m[0] === '{"hello":"from B"}'));

    // One client leaves; both workers broadcast; both see its 410.
    const leaving = ids[2]!;
    const gone = new Promise((r) => emulator.on('disconnect', (d) => d.connectionId === leaving && r(d)));
    clients[2]!.close();
    await gone;
    tell(a, { cmd: 'broadcastTo', tag: 'room-1', message: { n: 2 } });
    tell(b, { cmd: 'broadcastTo', tag: 'room-1', message: { n: 3 } });
    for (const w of workers) assert.match(await w.waitFor(/"broadcast":\{"sent":4/, 20_000), /"failed":1,"gone":1/);
    await until(() => workers.every((w) => w.lines.some((l) => l.includes(`"removed":"${leaving}"`))), 'both workers to try the removal');
    const removals = workers.flatMap((w) => w.lines.filter((l) => l.includes('"removed"')).map((l) => JSON.parse(l) as { removed: string; byMe: boolean }));
    assert.equal(removals.map((r) => r.removed), [leaving, leaving], 'only the gone one, once per worker');
    assert.is(removals.filter((r) => r.byMe).length, 1, 'removed exactly once');
    assert.is(await store.get(leaving), undefined);
    assert.is((await store.list({ tag: 'room-1' })).length, 4);

    for (const w of workers) tell(w, { cmd: 'exit' });
    for (const w of workers) {
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([w.exited, new Promise((r) => (timer = setTimeout(() => r('still running'), 15_000)))]);
      clearTimeout(timer);
      assert.is(code, 0, `a worker exits 0 after shutdown: ${w.stderr()}`);
    }
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    for (const c of clients) c.terminate();
    await emulator.close();
    await dynamo.close();
  }
});

test.run();
