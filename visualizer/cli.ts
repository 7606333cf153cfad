/**
 * `npx statewire <command>`:
 *   export-machine <connection|supervisor>   print the machine config as JSON (importable by the Stately editor)
 *   rig-emulator --pty [--baud N]           a TS-590S-like rig on a socat pty pair: prints the path to open
 *                                            (e.g. `rigctl -m 2031 -r <path> -s 9600`); Ctrl-C or SIGTERM stops it
 *   apigw-emulator [--port N]               an API Gateway WebSocket API on loopback: prints the ws:// URL for
 *                                            clients, then the http:// endpoint for the SDK; Ctrl-C or SIGTERM stops it
 *   certs --out <dir> [--host h]... [--days N] [--force]
 *                                            a development CA, server and client certificate (PEM) in <dir>: prints
 *                                            each path written; keys get mode 0600
 *   replay <file> [--port N] [--host h]     the visualizer over a flight recording (`supervisor.record(file)`):
 *                                            prints the URL; a timeline to scrub, play, pause; Ctrl-C or SIGTERM stops it
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionMachine } from '../machines/connection.machine.js';
import { supervisorMachine } from '../machines/supervisor.machine.js';
import { machineConfig } from './graph.js';

const machines = { connection: connectionMachine, supervisor: supervisorMachine } as const;
const USAGE = [
  `usage: statewire export-machine <${Object.keys(machines).join('|')}>`,
  '       statewire rig-emulator --pty [--baud 9600]',
  '       statewire apigw-emulator [--port 0]',
  '       statewire certs --out <dir> [--host localhost --host 127.0.0.1] [--days 30] [--force]',
  '       statewire replay <recording.ndjson> [--port 4400] [--host 127.0.0.1]',
].join('\n');

/** Runs one command; a long-running one (rig-emulator) resolves its exit code when it stops. */
export function main(argv: string[]): number | Promise<number> {
  const [command, name] = argv;
  if (command === '--help' || command === '-h' || command === undefined) {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'rig-emulator') return rigEmulator(argv.slice(1));
  if (command === 'apigw-emulator') return apigwEmulator(argv.slice(1));
  if (command === 'certs') return certs(argv.slice(1));
  if (command === 'replay') return replay(argv.slice(1));
  if (command !== 'export-machine') {
    console.error(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  const machine = machines[name as keyof typeof machines];
  if (!machine) {
    console.error(`unknown machine ${JSON.stringify(name)}: one of ${Object.keys(machines).join(', ')}\n${USAGE}`);
    return 2;
  }
  process.stdout.write(`${JSON.stringify(machineConfig(machine), null, 2)}\n`);
  return 0;
}

/**
 * `rig-emulator --pty`: socat makes a pty pair (links `rig` and `cat` in a
 * temp dir), the emulator answers on `rig`, and the `cat` path is printed on
 * stdout, alone on its line, for a CAT program to open. SIGINT/SIGTERM (or
 * socat dying) stops it: the emulator detaches, the port closes, socat is
 * killed by its pid and the temp dir removed.
 */
async function rigEmulator(args: string[]): Promise<number> {
  const baudIndex = args.indexOf('--baud');
  const baudRate = baudIndex === -1 ? 9600 : Number(args[baudIndex + 1]);
  const unknown = args.filter((a, i) => a !== '--pty' && a !== '--baud' && !(baudIndex !== -1 && i === baudIndex + 1));
  if (!args.includes('--pty') || unknown.length || !Number.isInteger(baudRate) || baudRate <= 0) {
    console.error(`rig-emulator needs --pty${unknown.length ? ` (unknown: ${unknown.join(' ')})` : ''}${Number.isInteger(baudRate) && baudRate > 0 ? '' : ', and --baud a positive integer'}\n${USAGE}`);
    return 2;
  }
  // serialport is an optional peer dependency: only this command loads it.
  let SerialPort: typeof import('serialport').SerialPort;
  try {
    ({ SerialPort } = await import('serialport'));
  } catch {
    console.error('rig-emulator needs the serialport package: npm install serialport@13');
    return 1;
  }
  const { createRigEmulator } = await import('../transports/serial/cat/rig-emulator.js');

  const dir = mkdtempSync(join(tmpdir(), 'statewire-rig-'));
  const rigPath = join(dir, 'rig');
  const catPath = join(dir, 'cat');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${rigPath}`, `pty,raw,echo=0,link=${catPath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const socatExited = new Promise<string>((resolve) => {
    socat.once('error', (err) => resolve(err.message));
    socat.once('exit', (code, signal) => resolve(`socat exited (${signal ?? code})`));
  });
  let log = '';
  const ready = new Promise<boolean>((resolve) => {
    socat.stderr!.on('data', (d: Buffer) => {
      if (log.length < 4096) log += d.toString();
      if (/starting data transfer loop/.test(log)) resolve(true);
    });
    void socatExited.then(() => resolve(false));
  });
  const stopSocat = async () => {
    if (socat.exitCode === null && socat.signalCode === null && socat.pid !== undefined) {
      try {
        process.kill(socat.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    await socatExited;
    rmSync(dir, { recursive: true, force: true });
  };
  if (!(await ready)) {
    console.error(`rig-emulator: could not start socat (is it installed? apt install socat): ${await socatExited}\n${log.trim()}`);
    await stopSocat();
    return 1;
  }

  const port = new SerialPort({ path: rigPath, baudRate, autoOpen: false });
  port.on('error', (err) => console.error(`rig-emulator: port error: ${err.message}`));
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    console.error(`rig-emulator: cannot open ${rigPath}: ${(err as Error).message}`);
    await stopSocat();
    return 1;
  }
  const rig = createRigEmulator({ port, onError: (err) => console.error(`rig-emulator: write failed: ${err.message}`) });
  console.log(catPath);
  console.error(`TS-590S emulator (ID021) at ${baudRate} baud; try: rigctl -m 2031 -r ${catPath} -s ${baudRate} f`);

  const stop = new AbortController();
  const why = await Promise.race([untilSignal(stop.signal), socatExited]);
  stop.abort();

  await rig.close();
  if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  await stopSocat();
  const bySignal = why === 'SIGINT' || why === 'SIGTERM';
  console.error(`rig-emulator stopped (${why})`);
  return bySignal ? 0 : 1;
}

/**
 * `apigw-emulator [--port N]`: `createApiGatewayEmulator` on loopback. Its
 * WebSocket URL and its management endpoint are printed on stdout, each
 * alone on its line (in that order); connects and disconnects are logged on
 * stderr. SIGINT/SIGTERM closes it (clients get 1001 Going away).
 */
async function apigwEmulator(args: string[]): Promise<number> {
  const portIndex = args.indexOf('--port');
  const portText = portIndex === -1 ? '0' : args[portIndex + 1];
  const port = /^\d+$/.test(portText ?? '') ? Number(portText) : NaN;
  const unknown = args.filter((a, i) => a !== '--port' && !(portIndex !== -1 && i === portIndex + 1));
  if (unknown.length || !(port >= 0 && port <= 65535)) {
    console.error(`apigw-emulator: ${unknown.length ? `unknown: ${unknown.join(' ')}` : '--port must be an integer within 0..65535'}\n${USAGE}`);
    return 2;
  }
  const { createApiGatewayEmulator } = await import('../transports/apigateway/emulator.js');
  let emulator: Awaited<ReturnType<typeof createApiGatewayEmulator>>;
  try {
    emulator = await createApiGatewayEmulator({ port, onError: (err) => console.error(`apigw-emulator: ${err instanceof Error ? err.message : String(err)}`) });
  } catch (err) {
    console.error(`apigw-emulator: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  emulator.on('connect', (c) => console.error(`connect ${c.connectionId} from ${c.sourceIp}`));
  emulator.on('disconnect', (d) => console.error(`disconnect ${d.connectionId} (${d.cause}, ${d.statusCode})`));
  console.log(emulator.url);
  console.log(emulator.endpoint);
  console.error(`API Gateway emulator: clients connect to ${emulator.url}; the SDK's endpoint is ${emulator.endpoint} (any credentials and region)`);
  const why = await untilSignal();
  await emulator.close();
  console.error(`apigw-emulator stopped (${why})`);
  return 0;
}

/**
 * `certs --out <dir>`: `createDevCertificates` for the `--host` names (each
 * flag adds one; default localhost and 127.0.0.1), written by
 * `writeDevCertificates`. Each path is printed on stdout, alone on its line,
 * in the order ca, ca-key, server, server-key, client, client-key. Files
 * already in <dir> are left alone (exit 1) unless `--force`: a CA key others
 * trust is not replaced by accident.
 */
async function certs(args: string[]): Promise<number> {
  let out: string | undefined;
  let days = 30;
  let force = false;
  const hosts: string[] = [];
  const wrong: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = args[i + 1];
    if (arg === '--force') force = true;
    else if ((arg === '--out' || arg === '--host' || arg === '--days') && value !== undefined && !value.startsWith('--')) {
      i++;
      if (arg === '--out') out = value;
      else if (arg === '--host') hosts.push(value);
      else if (/^\d+$/.test(value) && Number(value) >= 1) days = Number(value);
      else wrong.push(`--days must be a positive integer, got ${JSON.stringify(value)}`);
    } else wrong.push(arg.startsWith('--') && ['--out', '--host', '--days'].includes(arg) ? `${arg} needs a value` : `unknown: ${arg}`);
  }
  if (out === undefined) wrong.push('--out <dir> is required');
  if (wrong.length) {
    console.error(`certs: ${wrong.join('; ')}\n${USAGE}`);
    return 2;
  }
  const { createDevCertificates, writeDevCertificates, DEV_CERTIFICATE_FILES } = await import('../transports/tcp/certs.js');
  const existing = Object.values(DEV_CERTIFICATE_FILES).filter((name) => existsSync(join(out!, name)));
  if (existing.length && !force) {
    console.error(`certs: ${out} already holds ${existing.join(', ')}; pass --force to replace them`);
    return 1;
  }
  try {
    const made = await createDevCertificates({ hosts: hosts.length ? hosts : undefined, days });
    const paths = await writeDevCertificates(out!, made);
    for (const path of Object.values(paths)) console.log(path);
    console.error(`development CA and certificates for ${(hosts.length ? hosts : ['localhost', '127.0.0.1']).join(', ')}, valid ${days} days; trust ${paths.ca} as the CA`);
    return 0;
  } catch (err) {
    // A bad --host (RangeError) is a usage error; a write that fails is not.
    const usage = err instanceof TypeError || err instanceof RangeError;
    const message = err instanceof Error ? err.message.replace(/^options\.hosts\[\d+\]/, '--host') : String(err);
    console.error(`certs: ${message}${usage ? `\n${USAGE}` : ''}`);
    return usage ? 2 : 1;
  }
}

/**
 * `replay <file>`: `loadRecording` then `serveReplay`. The URL is printed on
 * stdout, alone on its line; warnings (a last line cut short) on stderr. A
 * file that cannot be read, is not NDJSON or has no recording header exits
 * 1 with one line saying which; a usage error exits 2. SIGINT/SIGTERM stops it.
 */
async function replay(args: string[]): Promise<number> {
  let file: string | undefined;
  let port = 4400;
  let host = '127.0.0.1';
  const wrong: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = args[i + 1];
    if (arg === '--port' || arg === '--host') {
      if (value === undefined || value.startsWith('--')) {
        wrong.push(`${arg} needs a value`);
        continue;
      }
      i++;
      if (arg === '--host') host = value;
      else if (/^\d+$/.test(value) && Number(value) <= 65535) port = Number(value);
      else wrong.push(`--port must be an integer within 0..65535, got ${JSON.stringify(value)}`);
    } else if (arg.startsWith('--') || file !== undefined) wrong.push(`unknown: ${arg}`);
    else file = arg;
  }
  if (file === undefined) wrong.push('the recording file is required');
  if (wrong.length) {
    console.error(`replay: ${wrong.join('; ')}\n${USAGE}`);
    return 2;
  }
  const [{ loadRecording }, { serveReplay }] = await Promise.all([import('./replay.js'), import('./replay-server.js')]);
  let recording: Awaited<ReturnType<typeof loadRecording>>;
  try {
    recording = await loadRecording(file!);
  } catch (err) {
    console.error(`replay: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  for (const w of recording.warnings) console.error(`replay: ${file}: ${w}`);
  let viz: Awaited<ReturnType<typeof serveReplay>>;
  try {
    viz = await serveReplay(recording, { port, host });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause;
    console.error(`replay: ${err instanceof Error ? err.message : String(err)}${cause?.message ? ` (${cause.message})` : ''}`);
    return 1;
  }
  const span = ((recording.end - recording.start) / 1000).toFixed(1);
  console.log(viz.url);
  console.error(`replaying ${file}: supervisor "${recording.header.supervisor}", ${recording.records.length} records over ${span} s, recorded on ${recording.header.machine?.hostname ?? '?'} at ${recording.header.startedAtIso ?? new Date(recording.header.startedAt).toISOString()}; open ${viz.url}`);
  const why = await untilSignal();
  await viz.close();
  console.error(`replay stopped (${why})`);
  return 0;
}

/** Resolves with the first SIGINT or SIGTERM (a service manager stopping us is Ctrl-C too); its listeners go with it, or when `signal` aborts. */
function untilSignal(signal?: AbortSignal): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (why: NodeJS.Signals) => {
      process.removeListener('SIGINT', done);
      process.removeListener('SIGTERM', done);
      signal?.removeEventListener('abort', forget);
      resolve(why);
    };
    const forget = () => {
      process.removeListener('SIGINT', done);
      process.removeListener('SIGTERM', done);
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    signal?.addEventListener('abort', forget, { once: true });
  });
}
