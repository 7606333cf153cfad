/**
 * Interop with Hamlib (issue 12, part 4): `rigctl -m 2031` (Kenwood TS-590S)
 * drives the emulator over a real socat pty pair as it would the rig: read
 * frequency and mode, set frequency, set and read RFPOWER, key and unkey PTT.
 * Also `statewire rig-emulator --pty`, the CLI that does the same setup.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SerialPort } from 'serialport';
import { createRigEmulator, type RigEmulator } from '../../../../transports/serial/cat/rig-emulator.js';
import { spawnLines, type Spawned } from '../../../helpers/spawn.js';

const test = suite('hamlib interop');

interface Pty {
  dir: string;
  socat: Spawned;
  port: SerialPort;
  rig: RigEmulator;
  /** The end rigctl opens. */
  catPath: string;
}

async function ptyRig(): Promise<Pty> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-rig-'));
  const rigPath = join(dir, 'rig');
  const catPath = join(dir, 'cat');
  const socat = spawnLines('socat', ['-d', '-d', `pty,raw,echo=0,link=${rigPath}`, `pty,raw,echo=0,link=${catPath}`]);
  // socat -d -d logs to stderr; poll for both links rather than parse it.
  for (let i = 0; !(existsSync(rigPath) && existsSync(catPath)); i++) {
    if (i > 500 || socat.child.exitCode !== null) throw new Error(`socat did not make the pty pair: ${socat.stderr()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const port = new SerialPort({ path: rigPath, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const rig = createRigEmulator({ port });
  return { dir, socat, port, rig, catPath };
}

async function closePty(p: Pty) {
  await p.rig.close();
  if (p.port.isOpen) await new Promise<void>((r) => p.port.close(() => r()));
  await p.socat.kill('SIGTERM');
  rmSync(p.dir, { recursive: true, force: true });
}

/** rigctl's stdout lines for `commands`, asserting it exits 0. */
async function rigctl(catPath: string, ...commands: string[]): Promise<string[]> {
  const child = spawnLines('rigctl', ['-m', '2031', '-r', catPath, '-s', '9600', ...commands]);
  const code = await child.exited;
  assert.is(code, 0, `rigctl ${commands.join(' ')} exited ${code}: ${child.stderr()}`);
  return child.lines;
}

test('rigctl -m 2031: reads frequency and mode, sets frequency', async () => {
  const p = await ptyRig();
  try {
    assert.equal(await rigctl(p.catPath, 'f'), ['14074000']);
    assert.equal(await rigctl(p.catPath, 'F', '7074000', 'f'), ['7074000']);
    assert.is(p.rig.state().frequencyA, 7_074_000);
    const mode = await rigctl(p.catPath, 'm');
    assert.is(mode[0], 'USB');
    assert.ok(/^\d+$/.test(mode[1] ?? ''), `passband line: ${mode[1]}`);
  } finally {
    await closePty(p);
  }
});

test('rigctl -m 2031: sets and reads RFPOWER (PC), keys and unkeys PTT (TX/RX)', async () => {
  const p = await ptyRig();
  try {
    assert.equal(await rigctl(p.catPath, 'L', 'RFPOWER', '0.5', 'l', 'RFPOWER'), ['0.500000']);
    assert.is(p.rig.state().powerW, 50);
    assert.equal(await rigctl(p.catPath, 'T', '1', 't'), ['1']);
    assert.is(p.rig.state().ptt, true);
    assert.equal(await rigctl(p.catPath, 'T', '0', 't'), ['0']);
    assert.is(p.rig.state().ptt, false);
  } finally {
    await closePty(p);
  }
});

test('statewire rig-emulator --pty: prints a path rigctl opens; SIGTERM stops it, socat and its temp dir gone', async () => {
  const cli = spawnLines('node', ['--import', 'tsx', '-e', "import('./visualizer/cli.ts').then(async (m) => { process.exitCode = await m.main(['rig-emulator', '--pty']); })"]);
  try {
    const catPath = await cli.waitFor(/^\/.*\/cat$/);
    assert.equal(await rigctl(catPath, 'f'), ['14074000']);
    assert.is(await cli.kill('SIGTERM'), 0);
    assert.ok(/rig-emulator stopped \(SIGTERM\)/.test(cli.stderr()), cli.stderr());
    assert.not.ok(existsSync(dirname(catPath)), 'temp dir left behind');
  } finally {
    await cli.kill('SIGKILL');
  }
});

test('statewire rig-emulator: without --pty it is a usage error (exit 2)', async () => {
  const cli = spawnLines('node', ['--import', 'tsx', '-e', "import('./visualizer/cli.ts').then(async (m) => { process.exitCode = await m.main(['rig-emulator']); })"]);
  assert.is(await cli.exited, 2);
  assert.ok(/needs --pty/.test(cli.stderr()));
});

test.run();
