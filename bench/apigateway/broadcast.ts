/**
 * `broadcast.ts <n> <rounds> <runs>`: the API Gateway broadcast bench, every
 * part in its own process. Prints one JSON line.
 *
 * 1. Through the emulator: `peer.ts emulator` with n real `ws` clients
 *    connected from `peer.ts clients`; every id is a live connection, so
 *    every request is a 200 and a WebSocket message delivered (the clients
 *    count them). The subjects run in turn, interleaved and alternating who
 *    goes first (manager, sdk, sdk, manager, ...), `rounds` processes each,
 *    `runs` timed broadcasts of n ids per process.
 * 2. Against a bare HTTP server answering 200 at once (`peer.ts bare`): no
 *    emulator work, so what is left is the SDK's and the subject's own cost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

type Figure = Record<string, unknown>;
const here = fileURLToPath(new URL('.', import.meta.url));
const [nArg, roundsArg, runsArg] = process.argv.slice(2);
const N = Number(nArg ?? 10_000);
const ROUNDS = Number(roundsArg ?? 4);
const RUNS = Number(runsArg ?? 3);
const SUBJECTS = ['manager', 'sdk'] as const;

/** A helper process whose stdout lines are JSON, read one by one. */
function start(script: string, args: string[]): { child: ChildProcess; next: () => Promise<Figure> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Figure[] = [];
  const waiting: Array<{ resolve: (f: Figure) => void; reject: (e: Error) => void }> = [];
  let ended = false;
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (line) => {
    const f = JSON.parse(line) as Figure;
    const w = waiting.shift();
    if (w) w.resolve(f);
    else lines.push(f);
  });
  // Its output is all read: a line still awaited will not come.
  rl.on('close', () => {
    ended = true;
    for (const w of waiting.splice(0)) w.reject(new Error(`${script} ${args[0]} ended (exit code ${child.exitCode}) before printing what was awaited`));
  });
  const next = () =>
    lines.length
      ? Promise.resolve(lines.shift()!)
      : ended
        ? Promise.reject(new Error(`${script} ${args[0]} has ended`))
        : new Promise<Figure>((resolve, reject) => waiting.push({ resolve, reject }));
  return { child, next };
}

/** Stops a helper this bench started (by its own pid) and waits for it. */
async function stop(p: { child: ChildProcess }): Promise<void> {
  if (p.child.exitCode !== null) return;
  const gone = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await gone;
}

async function subject(name: string, endpoint: string, idsFile: string): Promise<Figure> {
  const s = start('subject.ts', [name, endpoint, idsFile, String(RUNS)]);
  const f = await s.next();
  await new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)));
  return f;
}

/** `ROUNDS` processes of each subject, interleaved, the first one alternating. */
async function rounds(endpoint: string, idsFile: string) {
  const out: Record<(typeof SUBJECTS)[number], Figure[]> = { manager: [], sdk: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? SUBJECTS : ([...SUBJECTS].reverse() as unknown as typeof SUBJECTS);
    for (const s of order) out[s].push(await subject(s, endpoint, idsFile));
  }
  return out;
}

const emulator = start('peer.ts', ['emulator', String(N)]);
const { endpoint, url } = (await emulator.next()) as { endpoint: string; url: string };
const clients = start('peer.ts', ['clients', url, String(N)]);
const { connected } = (await clients.next()) as { connected: number };
const { idsFile } = (await emulator.next()) as { idsFile: string };
const viaEmulator = await rounds(endpoint, idsFile);
const { received } = (await Promise.all([clients.next(), stop(clients)]))[0] as { received: number };
await stop(emulator);
rmSync(idsFile, { force: true });

const bare = start('peer.ts', ['bare']);
const bareEndpoint = ((await bare.next()) as { endpoint: string }).endpoint;
const bareIds = join(tmpdir(), `statewire-apigw-bench-bare-${process.pid}.json`);
writeFileSync(bareIds, JSON.stringify(Array.from({ length: N }, (_, i) => `bench${String(i).padStart(5, '0')}AAAAAAAA=`)));
const viaBare = await rounds(bareEndpoint, bareIds);
await stop(bare);
rmSync(bareIds, { force: true });

console.log(
  JSON.stringify({
    figure: 'apigateway-broadcast',
    n: N,
    rounds: ROUNDS,
    runs: RUNS,
    connected,
    received,
    expected: ROUNDS * SUBJECTS.length * (Math.min(2000, N) + RUNS * N),
    emulator: viaEmulator,
    bare: viaBare,
  }),
);
