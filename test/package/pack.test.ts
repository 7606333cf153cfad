/**
 * The npm package, as a user gets it: `npm pack` once, install the tarball in
 * a fresh project in the OS temp dir (with the pinned xstate and rxjs peers),
 * then run a plain-node program, the `statewire` bin, and `tsc` against what
 * was installed. serialport, an optional peer, is installed too (pinned), so
 * `statewire/serial` is used as a serial user gets it. Nothing here reads the repo's sources: a missing file in
 * `files`, a wrong `exports` target or a broken `.d.ts` fails a test.
 *
 * Slow (npm, tsc: tens of seconds), so the pack and install run once, in
 * `before`. The registry must be reachable (or the npm cache warm:
 * `--prefer-offline`).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { root, spawnLines } from '../helpers/spawn.js';

const test = suite('package');

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
};
const pinned = (name: string) => {
  const version = pkg.devDependencies[name];
  if (!version) throw new Error(`${name} is not a devDependency`);
  return `${name}@${version}`;
};
const tsc = join(root, 'node_modules', '.bin', 'tsc');

interface Ran {
  code: string;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its end in its own process group (npm starts shells and
 * nodes of its own), killing the group if it takes longer than `ms`.
 */
async function run(cmd: string, args: string[], cwd: string, ms = 120_000): Promise<Ran> {
  const child = spawnLines(cmd, args, { cwd, detached: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  const code = await Promise.race([child.ended, timedOut]);
  clearTimeout(timer);
  if (code === 'timeout') {
    await child.kill('SIGKILL');
    throw new Error(`${cmd} ${args.join(' ')} took over ${ms} ms; stdout: ${child.stdout()} stderr: ${child.stderr()}`);
  }
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

/** `run`, and the command must exit 0. */
async function ok(cmd: string, args: string[], cwd: string, ms?: number): Promise<Ran> {
  const result = await run(cmd, args, cwd, ms);
  if (result.code !== '0') {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

interface Installed {
  packDir: string;
  appDir: string;
  /** node_modules/statewire in the consumer project: the unpacked tarball. */
  installed: string;
}

let prepared: Installed | undefined;
let setupError: unknown;
/** A failed `before` would only show as "0 / N"; each test rethrows its error instead. */
const ready = (): Installed => {
  if (setupError !== undefined) throw setupError;
  return prepared!;
};

test.before(async () => {
  const packDir = mkdtempSync(join(tmpdir(), 'statewire-pack-'));
  const appDir = mkdtempSync(join(tmpdir(), 'statewire-consumer-'));
  prepared = { packDir, appDir, installed: join(appDir, 'node_modules', pkg.name) };
  try {
    // `npm pack` runs `prepare` (the build), as `npm publish` does.
    await ok('npm', ['pack', '--pack-destination', packDir], root);
    const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, `npm pack left no .tgz in ${packDir}`);
    writeFileSync(join(appDir, 'package.json'), `${JSON.stringify({ name: 'statewire-consumer', private: true, type: 'module' }, null, 2)}\n`);
    await ok(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        join(packDir, tarball),
        pinned('xstate'),
        pinned('rxjs'),
        // The optional peer of statewire/serial (its native binding comes prebuilt).
        pinned('serialport'),
        // For the type checks: a Node library's consumer has @types/node. (@types/ws
        // comes with statewire: the statewire/websocket declarations import from 'ws'.)
        pinned('@types/node'),
      ],
      appDir,
    );
  } catch (err) {
    setupError = err;
  }
});

test.after(() => {
  if (!prepared) return;
  rmSync(prepared.packDir, { recursive: true, force: true });
  rmSync(prepared.appDir, { recursive: true, force: true });
});

/** Every file under `dir`, relative to it, with `/` separators. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path, base) : [relative(base, path).split('\\').join('/')];
  });
}

test('package: the tarball holds dist, bin, LICENSE and README; every exports and bin target is in it', () => {
  const { installed } = ready();
  const files = walk(installed);
  const top = [...new Set(files.map((f) => f.split('/')[0]))].sort();
  assert.equal(top, ['LICENSE', 'README.md', 'bin', 'dist', 'package.json']);
  assert.ok(!files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), 'no TypeScript sources');
  assert.ok(!files.some((f) => /(^|\/)test\//.test(f)), 'no tests');
  for (const [entry, target] of Object.entries(pkg.exports)) {
    for (const path of typeof target === 'string' ? [target] : Object.values(target)) {
      assert.ok(existsSync(join(installed, path)), `exports["${entry}"] -> ${path} is in the tarball`);
    }
  }
  for (const path of Object.values(pkg.bin)) {
    assert.ok(existsSync(join(installed, path)), `bin ${path} is in the tarball`);
    assert.ok(readFileSync(join(installed, path), 'utf8').startsWith('#!/usr/bin/env node\n'), `bin ${path} has a node shebang`);
  }
  assert.ok(existsSync(join(installed, 'dist/visualizer/public/index.html')), 'the visualizer page is in the tarball');
});

test('package: every source map is self-contained (sources inlined), none points outside the tarball', () => {
  const { installed } = ready();
  const files = walk(installed);
  const maps = files.filter((f) => f.endsWith('.map'));
  assert.ok(maps.length > 0, 'the build emits source maps');
  for (const map of maps) {
    const { sources, sourcesContent } = JSON.parse(readFileSync(join(installed, map), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    assert.ok(
      sources.length > 0 && sourcesContent?.length === sources.length && sourcesContent.every((s) => typeof s === 'string'),
      `${map} inlines its sources`,
    );
  }
  for (const file of files.filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))) {
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(installed, file), 'utf8'))?.[1];
    if (url) assert.ok(files.includes(join(file, '..', url).split('\\').join('/')), `${file} maps to ${url}, which is in the tarball`);
  }
});

/**
 * A user's program, run with plain `node` (no tsx) in the consumer project:
 * it embeds connectionMachine in its own machine, runs a supervisor, and
 * prints what it saw as one JSON line.
 */
const EMBED_MJS = `import { createActor, setup, spawnChild, waitFor } from 'xstate';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { connectionMachine, createSupervisor, inState, topState } from 'statewire';
import { mockTransport } from 'statewire/testing';

const seen = { embedded: [], events$: [], embeddedState: null, supervisedState: null };
const brief = (e) => ({ type: e.type, connectionId: e.connectionId, to: e.data?.to });

const app = setup({ actors: { conn: connectionMachine } }).createMachine({
  id: 'app',
  entry: spawnChild('conn', { id: 'radio', input: { id: 'radio', transport: mockTransport(), autoConnect: true } }),
});
const actor = createActor(app).start();
const radio = actor.getSnapshot().children.radio;
radio.on('*', (e) => seen.embedded.push(brief(e)));
await waitFor(radio, (s) => inState(s, 'connected'), { timeout: 5000 });
seen.embeddedState = { value: radio.getSnapshot().value, top: topState(radio.getSnapshot()), matches: radio.getSnapshot().matches({ active: 'connected' }) };

const supervisor = createSupervisor();
const sub = supervisor.events$.subscribe((e) => seen.events$.push(brief(e)));
const connected = firstValueFrom(
  supervisor.events$.pipe(
    filter((e) => e.type === 'EVENT_STATE_CHANGE' && e.data.to === 'connected'),
    timeout(5000),
  ),
);
supervisor.startChild({ id: 'link', transport: mockTransport() });
await connected;
seen.supervisedState = supervisor.connection('link').state;

sub.unsubscribe();
actor.stop();
await supervisor.shutdown();
console.log(JSON.stringify(seen));
`;

test('package: plain node runs a machine that embeds connectionMachine, and a supervisor whose events$ reports connected', async () => {
  const { appDir } = ready();
  writeFileSync(join(appDir, 'embed.mjs'), EMBED_MJS);
  const { stdout } = await ok(process.execPath, ['embed.mjs'], appDir, 30_000);
  const seen = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    embedded: { type: string; connectionId: string; to?: string }[];
    events$: { type: string; connectionId: string; to?: string }[];
    embeddedState: unknown;
    supervisedState: unknown;
  };
  assert.ok(
    seen.embedded.some((e) => e.type === 'EVENT_STATE_CHANGE' && e.connectionId === 'radio' && e.to === 'connected'),
    `the embedded machine emitted EVENT_STATE_CHANGE to connected: ${stdout}`,
  );
  assert.ok(
    seen.events$.some((e) => e.type === 'EVENT_STATE_CHANGE' && e.connectionId === 'link' && e.to === 'connected'),
    `supervisor.events$ saw EVENT_STATE_CHANGE to connected: ${stdout}`,
  );
  // The six state names are the contract; connecting, connected and tx_dropped sit inside `active`.
  assert.equal(seen.embeddedState, { value: { active: { connected: 'unwatched' } }, top: 'connected', matches: true });
  assert.is(seen.supervisedState, 'connected');
});

/**
 * A serial user's program, run with plain `node`: `statewire/serial` loads
 * the consumer's serialport; CAT frames split across chunks are joined and
 * parsed; a port that does not exist is a typed error from the real binding;
 * the emulator answers a CAT client over `SerialPortMock`.
 */
const SERIAL_MJS = `import { from, lastValueFrom, toArray } from 'rxjs';
import { SerialPortMock } from 'serialport';
import { catClient, catFrames, createRigEmulator, formatFrequency, parseFrequency, serialTransport, SerialPortError } from 'statewire/serial';

const seen = {};
const frames = await lastValueFrom(from(['FA000140', '74000;PS', '1;']).pipe(catFrames(), toArray()));
seen.frames = frames;
seen.frequency = parseFrequency(frames[0]);
seen.set = formatFrequency('A', 7074000);

const signal = new AbortController().signal;
const missing = await serialTransport({ path: '/dev/statewire-no-such-port' }).connect({ signal }).then(() => null, (e) => e);
seen.missing = { serialPortError: missing instanceof SerialPortError, name: missing?.name, code: missing?.code, errno: missing?.errno };

// The rig's side of a mock port: what the link writes reaches the emulator, what it answers is emitted to the link.
SerialPortMock.binding.createPort('/dev/RIG', { echo: false, record: false });
let mock;
const binding = { ...SerialPortMock.binding, open: async (o) => (mock = await SerialPortMock.binding.open(o)) };
const link = await serialTransport({ path: '/dev/RIG', binding }).connect({ signal });
const listeners = new Set();
const write = mock.write.bind(mock);
mock.write = async (buffer) => {
  await write(buffer);
  for (const l of listeners) l(Buffer.from(buffer));
};
const rig = createRigEmulator({
  port: { write: (data, cb) => (mock.emitData(data), cb?.(null), true), on: (_e, l) => listeners.add(l), removeListener: (_e, l) => listeners.delete(l) },
});
const client = catClient(link);
await client.setFrequency(7074000);
seen.rig = { frequency: await client.getFrequency(), mode: await client.getMode() };
client.close();
await rig.close();
await link.close();
console.log(JSON.stringify(seen));
`;

test('package: plain node uses statewire/serial with the consumer\'s serialport: CAT frames, a typed open error, a CAT client on the emulator', async () => {
  const { appDir } = ready();
  writeFileSync(join(appDir, 'serial.mjs'), SERIAL_MJS);
  const { stdout } = await ok(process.execPath, ['serial.mjs'], appDir, 30_000);
  const seen = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  assert.equal(seen.frames, ['FA00014074000', 'PS1']);
  assert.is(seen.frequency, 14_074_000);
  assert.is(seen.set, 'FA00007074000;');
  assert.equal(seen.missing, { serialPortError: true, name: 'SerialPortNotFoundError', code: 'ERR_SERIAL_NOT_FOUND', errno: 'ENOENT' });
  assert.equal(seen.rig, { frequency: 7_074_000, mode: 'USB' });
});

test('package: npx statewire export-machine connection runs the installed bin', async () => {
  const { appDir } = ready();
  // --no-install: the bin must come from the installed tarball, never from the registry.
  const { stdout } = await ok('npx', ['--no-install', 'statewire', 'export-machine', 'connection'], appDir, 30_000);
  const config = JSON.parse(stdout) as { id: string; initial: string; states: Record<string, unknown> };
  assert.is(config.id, 'connection');
  assert.is(config.initial, 'disconnected');
  assert.equal(Object.keys(config.states).sort(), ['active', 'disconnected', 'failed', 'reconnecting']);
  assert.equal(Object.keys((config.states.active as { states: object }).states).sort(), ['connected', 'connecting', 'tx_dropped']);
});

test('package: npx statewire certs writes a CA, server and client certificate with the installed bin (node-forge comes with statewire)', async () => {
  const { appDir } = ready();
  const out = join(appDir, 'certs');
  const { stdout } = await ok('npx', ['--no-install', 'statewire', 'certs', '--out', out], appDir, 30_000);
  const names = ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem', 'client.pem', 'client-key.pem'];
  assert.equal(stdout.trim().split('\n'), names.map((n) => join(out, n)));
  assert.is(statSync(join(out, 'server-key.pem')).mode & 0o777, 0o600);
  const verify = await ok('openssl', ['verify', '-CAfile', join(out, 'ca.pem'), join(out, 'server.pem')], appDir);
  assert.is(verify.stdout.trim(), `${join(out, 'server.pem')}: OK`);
});

/** A TypeScript user of every entry point. Each `@ts-expect-error` fails the check if its line compiles (an `any` would). */
const CONSUMER = `
import { createActor, setup, spawnChild, type ActorRefFrom } from 'xstate';
import { ConnectionError, connectionMachine, createSupervisor, inState, type ConnectionLogEvent, type Supervisor } from 'statewire';
import { mockTransport, type MockTransport } from 'statewire/testing';
import { webSocketTransport, TaskLogHub } from 'statewire/websocket';
import { unixSocketTransport, EdgeClient } from 'statewire/unix';
import { machineConfig, serveVisualizer } from 'statewire/visualizer';
import { catClient, catFrames, serialTransport, CatTimeoutError, SerialPortError, type CatClient, type CatMode } from 'statewire/serial';

const mock: MockTransport = mockTransport();
const supervisor: Supervisor = createSupervisor({ strategy: 'rest_for_one', maxRestarts: 5 });
supervisor.startChild({ id: 'ws', transport: webSocketTransport({ url: 'ws://127.0.0.1:8080' }), restart: 'transient' });
supervisor.startChild({ id: 'unix', transport: unixSocketTransport({ path: '/tmp/statewire.sock' }) });
supervisor.events$.subscribe((e: ConnectionLogEvent) => console.log(e.type, e.connectionId, e.state));

const app = setup({ actors: { conn: connectionMachine } }).createMachine({
  entry: spawnChild('conn', { id: 'c', input: { id: 'c', transport: mock, autoConnect: true } }),
});
const ref = createActor(app).start().getSnapshot().children.c as ActorRefFrom<typeof connectionMachine>;
const connected: boolean = inState(ref.getSnapshot(), 'connected') && ref.getSnapshot().matches({ active: 'connected' });
const error = new ConnectionError('refused');
const code: string = error.code;
const config: object = machineConfig(connectionMachine);
export const used = [connected, code, config, TaskLogHub, EdgeClient, serveVisualizer];

supervisor.startChild({ id: 'rig', transport: serialTransport({ path: '/dev/ttyUSB0', baudRate: 115200, parity: 'none' }) });
export async function tune(signal: AbortSignal): Promise<CatMode> {
  const link = await serialTransport({ path: '/dev/ttyUSB0' }).connect({ signal });
  link.incoming$.pipe(catFrames()).subscribe((frame: string) => console.log(frame));
  const rig: CatClient = catClient(link, { timeoutMs: 200 });
  await rig.setFrequency(7_074_000);
  try {
    return await rig.getMode();
  } catch (e) {
    if (e instanceof CatTimeoutError) console.log(e.powerOn, e.attempts);
    if (e instanceof SerialPortError) console.log(e.path, e.errno);
    throw e;
  } finally {
    rig.close();
  }
}

// @ts-expect-error the strategy is one of three names
createSupervisor({ strategy: 'one_for_everyone' });
// @ts-expect-error connectionMachine's input needs a transport
createActor(connectionMachine, { input: { id: 'a' } });
// @ts-expect-error webSocketTransport needs a url
webSocketTransport({ path: '/tmp/statewire.sock' });
// @ts-expect-error serial parity is one of serialport's names
serialTransport({ path: '/dev/ttyUSB0', parity: 'sideways' });
// @ts-expect-error CAT modes are the TS-590S's names
catClient(null as never).setMode('QRP');
`;

for (const [name, module, moduleResolution] of [
  ['NodeNext', 'NodeNext', 'NodeNext'],
  ['bundler', 'ESNext', 'bundler'],
] as const) {
  test(`package: a TypeScript consumer type-checks against the installed declarations (module ${module}, moduleResolution ${moduleResolution})`, async () => {
    const { appDir } = ready();
    writeFileSync(join(appDir, 'consumer.ts'), CONSUMER);
    const compilerOptions = {
      target: 'ES2022',
      module,
      moduleResolution,
      strict: true,
      noEmit: true,
      // Check statewire's .d.ts files too, not only how the consumer uses them.
      skipLibCheck: false,
      types: ['node'],
    };
    const config = `tsconfig.${name}.json`;
    writeFileSync(join(appDir, config), `${JSON.stringify({ compilerOptions, files: ['consumer.ts'] }, null, 2)}\n`);
    const result = await run(tsc, ['-p', config, '--pretty', 'false'], appDir, 60_000);
    const output = `${result.stdout}${result.stderr}`;
    // serialport 13's own declarations do not resolve under moduleResolution bundler
    // (@serialport/bindings-interface's exports give no types for `import`:
    // serialport/node-serialport#2770, open). Their errors, and only theirs, are let through there.
    const upstream = (line: string) => moduleResolution === 'bundler' && /^node_modules\/(serialport|@serialport\/[^/]+)\//.test(line);
    const errors = output.split('\n').filter((line) => /error TS\d+/.test(line));
    assert.equal(errors.filter((line) => !upstream(line)), [], `tsc -p ${config}:\n${output}`);
    assert.ok(result.code === '0' || errors.length > 0, `tsc -p ${config} exited ${result.code} with no error listed:\n${output}`);
  });
}

test('package: npm pkg fix finds nothing in package.json to correct', async () => {
  // npm publish silently rewrites what npm pkg fix would (a "./" bin path, for one): keep package.json as published.
  const { packDir } = ready();
  const dir = mkdtempSync(join(packDir, 'pkg-fix-'));
  writeFileSync(join(dir, 'package.json'), readFileSync(join(root, 'package.json')));
  cpSync(join(root, 'bin'), join(dir, 'bin'), { recursive: true });
  const result = await run('npm', ['pkg', 'fix'], dir, 30_000);
  assert.is(result.code, '0', `npm pkg fix:\n${result.stdout}${result.stderr}`);
  assert.equal(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')), pkg, `npm pkg fix changed package.json; ${result.stderr}`);
});

test('package: publint --strict and attw --profile esm-only find no problems (npm run lint:package)', async () => {
  const result = await run('npm', ['run', '--silent', 'lint:package'], root);
  assert.is(result.code, '0', `npm run lint:package:\n${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /All good!/);
});

test.run();
