/**
 * CAT round trips per second over a socat pty pair at 115200 baud, the rig in
 * its own process (`statewire rig-emulator --pty --baud 115200`, the TS-590S
 * emulator as users run it):
 *   cat.ts catclient <n>   `catClient(link).getFrequency()`, awaited one after another, on `serialTransport`
 *   cat.ts bare <n>        a bare `SerialPort`: write `FA;`, wait for the `;`-terminated answer with a 'data' listener
 * Each answer is checked (`FA00014074000;`). A pty ignores the baud rate.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SerialPort } from 'serialport';
import { catClient, serialTransport } from '../../transports/serial/index.js';

const [subject, nArg] = process.argv.slice(2) as ['catclient' | 'bare', string];
if (subject !== 'catclient' && subject !== 'bare') throw new TypeError('usage: cat.ts <catclient|bare> <n>');
const n = Number(nArg);
const WARM_UP = 500;
const BAUD = 115200;
const ANSWER = 'FA00014074000;';

const cli = fileURLToPath(new URL('../../visualizer/cli.ts', import.meta.url));
const rig = spawn(process.execPath, ['--import', 'tsx', '-e', `import(${JSON.stringify(cli)}).then(async (m) => { process.exitCode = await m.main(['rig-emulator', '--pty', '--baud', '${BAUD}']); })`], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const rigExited = new Promise<number | null>((r) => rig.once('exit', (code) => r(code)));
/** The emulator prints the path to open alone on its stdout line. */
const path = await new Promise<string>((resolve, reject) => {
  let out = '';
  rig.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const line = out.split('\n').find((l) => l.startsWith('/'));
    if (line) resolve(line.trim());
  });
  void rigExited.then((code) => reject(new Error(`rig-emulator exited (${code}) before printing its path`)));
});

let ms: number;
if (subject === 'catclient') {
  const link = await serialTransport({ path, baudRate: BAUD }).connect({ signal: new AbortController().signal });
  const client = catClient(link);
  const once = async () => {
    if ((await client.getFrequency()) !== 14_074_000) throw new Error('wrong frequency');
  };
  for (let i = 0; i < WARM_UP; i++) await once();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await once();
  ms = performance.now() - t0;
  client.close();
  await link.close();
} else {
  const port = new SerialPort({ path, baudRate: BAUD, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  let got = '';
  let waiter: ((answer: string) => void) | undefined;
  port.on('data', (d: Buffer) => {
    got += d.toString('latin1');
    const end = got.indexOf(';');
    if (end !== -1) {
      const answer = got.slice(0, end + 1);
      got = got.slice(end + 1);
      waiter?.(answer);
    }
  });
  const once = async () => {
    const answer = new Promise<string>((r) => (waiter = r));
    port.write('FA;');
    if ((await answer) !== ANSWER) throw new Error('wrong answer');
  };
  for (let i = 0; i < WARM_UP; i++) await once();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await once();
  ms = performance.now() - t0;
  await new Promise((r) => port.close(r));
}
rig.kill('SIGTERM');
await rigExited;
console.log(JSON.stringify({ figure: 'cat-roundtrips', subject, n, perSecond: Math.round((n / ms) * 1000), usPerRoundTrip: Math.round((ms * 1000) / n), ms: Math.round(ms) }));
