/**
 * Each socket error class from its real cause: a missing path, a socket the
 * caller may not open (connecting as `nobody`), a refused connection (a stale
 * socket file), and the agent killed mid-stream, with and without reconnect.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { SocketBrokenPipeError, SocketConnectionError, SocketFileNotFoundError, SocketNotConnectedError, SocketPermissionDeniedError } from '../../../transports/unix/errors.js';
import { EdgeAgentServer, EdgeClient } from '../../../transports/unix/index.js';
import { sleep } from '../../helpers/net.js';
import { build } from 'esbuild';
import { root, spawnLines, tsxArgs } from '../../helpers/spawn.js';
import { agentProcess, staleSocket, tempDir } from '../../helpers/unix.js';

const test = suite('unix errors');
const fail = (p: Promise<unknown>) => p.then(() => assert.unreachable('expected a rejection'), (e: unknown) => e);

test('missing path: SocketFileNotFoundError with socketPath and the ENOENT cause', async () => {
  const tmp = tempDir();
  const path = tmp.path('nobody-home.sock');
  const e = (await fail(EdgeClient.open({ path: path }))) as SocketFileNotFoundError;
  assert.instance(e, SocketFileNotFoundError);
  assert.is(e.socketPath, path);
  assert.is(e.errno, 'ENOENT');
  assert.is((e.cause as NodeJS.ErrnoException).code, 'ENOENT');
  tmp.remove();
});

test('refused (a stale socket file, nobody listening): SocketConnectionError with ECONNREFUSED', async () => {
  const tmp = tempDir();
  const path = tmp.path('stale.sock');
  await staleSocket(path);
  const e = (await fail(EdgeClient.open({ path: path, reconnect: false }))) as SocketConnectionError;
  assert.instance(e, SocketConnectionError);
  assert.is(e.errno, 'ECONNREFUSED');
  assert.is(e.socketPath, path);
  tmp.remove();
});

test('permission denied: a root-owned 0600 socket opened by `nobody` is SocketPermissionDeniedError', async () => {
  const tmp = tempDir();
  chmodSync(tmp.dir, 0o755);
  const path = tmp.path('root-only.sock');
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(path, r));
  let out: { name: string; code: string; errno: string; socketPath: string };
  if (process.getuid?.() === 0) {
    chmodSync(path, 0o600);
    // `nobody` may not be able to read the checkout (a private temp clone): bundle our
    // real client code into one world-readable file and run that as nobody.
    const bundle = tmp.path('edge-connect.mjs');
    await build({ entryPoints: [`${root}test/fixtures/edge-connect.ts`], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'silent' });
    chmodSync(bundle, 0o644);
    const child = spawnLines('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bundle, path], { cwd: tmp.dir });
    out = JSON.parse(await child.waitFor(/^\{/, 20_000));
    await child.exited;
  } else {
    // Not root: we cannot become another user, but a socket file we may not open gives the same EACCES.
    console.log('  (not root: permission checked with a chmod 000 socket instead of a run as nobody)');
    chmodSync(path, 0o000);
    const child = spawnLines(process.execPath, tsxArgs('test/fixtures/edge-connect.ts', path));
    out = JSON.parse(await child.waitFor(/^\{/, 20_000));
  }
  await new Promise<void>((r) => server.close(() => r()));
  tmp.remove();
  assert.equal(out, { name: 'SocketPermissionDeniedError', code: 'ERR_SOCKET_PERMISSION', errno: 'EACCES', socketPath: path });
});

test('agent killed mid-stream without reconnect: in-flight events reject with SocketBrokenPipeError, later sends SocketNotConnectedError', async () => {
  const tmp = tempDir();
  const path = tmp.path('edge.sock');
  const agent = await agentProcess(path);
  const conn = await EdgeClient.open({ path: path, reconnect: false });
  await conn.sendEvent('BeforeKill', 'info', {});
  agent.child.stdout!.pause(); // the agent's stdout fills: it stops acking, then it is killed
  const results: Array<Promise<unknown>> = [];
  for (let i = 0; i < 2000; i++) results.push(conn.sendEvent('Stream', 'low', { i }).then(() => 'acked', (e: unknown) => e));
  await agent.kill('SIGKILL');
  const outcomes = await Promise.all(results);
  const errors = outcomes.filter((o) => o !== 'acked');
  assert.ok(errors.length > 0, 'some events were in flight when the agent died');
  for (const e of errors) assert.ok(e instanceof SocketBrokenPipeError || e instanceof SocketNotConnectedError, String(e));
  assert.ok(errors.some((e) => e instanceof SocketBrokenPipeError));
  assert.is((errors.find((e) => e instanceof SocketBrokenPipeError) as SocketBrokenPipeError).socketPath, path);
  const late = await fail(conn.sendEvent('AfterKill', 'info', {}));
  assert.instance(late, SocketNotConnectedError);
  await conn.close();
  tmp.remove();
});

test('agent killed mid-stream with reconnect: a new agent comes up, every event is acked exactly once', async () => {
  const tmp = tempDir();
  const path = tmp.path('edge.sock');
  let agent = await agentProcess(path);
  const conn = await EdgeClient.open({ path: path, policy: { initialBackoffMs: 20, maxBackoffMs: 200, jitter: 0 }, ackTimeoutMs: 20_000 });
  const first = agent;
  let settled = 0;
  const acked = new Map<number, number>();
  const sends: Array<Promise<void>> = [];
  for (let i = 0; i < 3000; i++) {
    sends.push(conn.sendEvent('Stream', 'low', { i }).then(() => {
      settled++;
      acked.set(i, (acked.get(i) ?? 0) + 1);
    }));
    if (i === 1000) {
      await first.kill('SIGKILL'); // mid-stream
      await sleep(50);
      agent = await agentProcess(path); // replaces the stale socket file
    }
  }
  // Bounded: without an agent the client waits (an outage is not an ack timeout), so a dead second agent would hang here.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(sends),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`sends still pending after 30 s (${settled} settled); agent alive: ${agent.child.exitCode === null && agent.child.signalCode === null}; agent stderr: ${agent.stderr()} ${first.stderr()}`)), 30_000))),
  ]).finally(() => clearTimeout(timer));
  assert.is(settled, 3000);
  assert.ok([...acked.values()].every((n) => n === 1), 'each sendEvent settled once');
  // The agents print each event on stdout, a pipe read apart from the socket the acks come on:
  // an ack can arrive before its line is read. Count the lines once both pipes are drained.
  await conn.close();
  await agent.kill('SIGTERM');
  const drained = (p: typeof agent) => (p.child.stdout!.readableEnded ? undefined : new Promise((r) => p.child.stdout!.once('end', r)));
  await Promise.all([drained(first), drained(agent)]);
  const emitted = new Set([...first.lines, ...agent.lines].filter((l) => l.startsWith('event ')).map((l) => Number(l.slice(6))));
  assert.is(emitted.size, 3000, 'every event reached an agent');
  const second = agent.lines.filter((l) => l.startsWith('event ')).length;
  assert.is(new Set(agent.lines).size, agent.lines.length, 'the new agent published none twice');
  assert.ok(second > 0);
  tmp.remove();
});

test.run();
