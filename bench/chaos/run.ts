/**
 * `npm run chaos [-- --seed N] [--quick] [--only ws,edge] [--json FILE] [--no-write]`
 *
 * Runs every chaos scenario, each in a process of its own with a time budget
 * (the whole run stays under 3 minutes, --quick well under 30 s, two
 * scenarios at a time), prints one
 * summary line per scenario, and rewrites the `## Chaos suite` section of
 * bench/RELIABILITY.md (not with --no-write). Loopback only; the API fuzzer
 * runs in a network namespace of its own when `unshare -n` works here.
 *
 * Exit code 1 when an invariant is broken that no known defect explains.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ScenarioResult } from './lib.js';
import { section, writeSection } from './report.js';

const here = fileURLToPath(new URL('.', import.meta.url));
/** Run order (and, in a quick run's two lanes, the longest ones first). */
const ORDER = ['fuzz-api', 'fuzz-servers', 'edge', 'ws', 'supervisor'];
/** Each scenario's own limit, ms (it stops itself well before; past this it is killed). */
const BUDGET: Record<string, [quick: number, full: number]> = {
  ws: [20_000, 45_000],
  edge: [20_000, 45_000],
  supervisor: [15_000, 30_000],
  'fuzz-servers': [25_000, 80_000],
  'fuzz-api': [20_000, 50_000],
};

function parseArgs(argv: string[]) {
  const opts = { seed: Math.floor(Math.random() * 1_000_000), quick: false, only: ORDER, json: undefined as string | undefined, write: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') opts.quick = true;
    else if (a === '--no-write') opts.write = false;
    else if (a === '--seed') opts.seed = Number(argv[++i]);
    else if (a === '--json') opts.json = argv[++i];
    else if (a === '--only') opts.only = String(argv[++i]).split(',');
    else throw new TypeError(`unknown argument ${JSON.stringify(a)}; usage: run.ts [--seed N] [--quick] [--only ${ORDER.join(',')}] [--json FILE] [--no-write]`);
  }
  if (!Number.isSafeInteger(opts.seed)) throw new TypeError('--seed must be an integer');
  for (const s of opts.only) if (!ORDER.includes(s)) throw new TypeError(`unknown scenario "${s}"; scenarios: ${ORDER.join(', ')}`);
  return opts;
}

/** `unshare -n` with loopback up works here (root, or user namespaces). */
function netnsWorks(): boolean {
  const r = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore', timeout: 5000 });
  return r.status === 0;
}

/** Run one scenario in its own process; a result even when it crashed or ran out of time. */
function runOne(name: string, seed: number, quick: boolean, budgetMs: number, netns: boolean): Promise<ScenarioResult> {
  const node = [process.execPath, '--expose-gc', '--import', 'tsx', `${here}scenario.ts`, name, String(seed), quick ? 'quick' : 'full'];
  const [cmd, args, env] =
    name === 'fuzz-api' && netns
      ? ['unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...node], { ...process.env, CHAOS_NETNS: '1' }]
      : [node[0]!, node.slice(1), process.env];
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL'); // its whole process group: agents and fuzz targets too
      } catch {
        child.kill('SIGKILL');
      }
    }, budgetMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) return resolve(JSON.parse(line.slice(7)) as ScenarioResult);
      const why = timedOut ? `killed after its ${budgetMs} ms budget` : `exited ${code ?? signal} without a result: ${err.split('\n').filter(Boolean).slice(-3).join(' | ')}`;
      resolve({
        scenario: name,
        seed,
        quick,
        durationMs: Date.now() - started,
        summary: `${name}: ${why}`,
        rows: [],
        invariants: [{ name: timedOut ? 'finishes within its time budget' : 'the scenario process does not crash', ok: false, detail: why }],
        figures: {},
        findings: [],
      });
    });
  });
}

const opts = parseArgs(process.argv.slice(2));
const deadline = Date.now() + (opts.quick ? 60_000 : 180_000);
const netns = opts.only.includes('fuzz-api') && netnsWorks();
console.log(`chaos: seed ${opts.seed}${opts.quick ? ', quick' : ''}; scenarios ${opts.only.join(', ')}${netns ? '' : opts.only.includes('fuzz-api') ? ' (no network namespace: the visualizer host is not fuzzed)' : ''}`);
// A quick run has two scenarios going at once (most of their time is spent waiting: paced
// traffic, agent restarts, fuzz targets); a full run one at a time, so its memory figures are clean.
const queue = ORDER.filter((s) => opts.only.includes(s));
const byName = new Map<string, ScenarioResult>();
const lane = async () => {
  for (let name = queue.shift(); name; name = queue.shift()) {
    const own = BUDGET[name]![opts.quick ? 0 : 1];
    const left = deadline - Date.now();
    const result = await runOne(name, opts.seed, opts.quick, Math.max(1000, Math.min(own, left)), netns);
    byName.set(name, result);
    const broken = result.invariants.filter((i) => !i.ok);
    console.log(`${result.summary}${broken.length ? ` — ${broken.length} invariant(s) broken${broken.every((i) => i.known) ? ' (all known)' : ''}` : ''}`);
  }
};
await Promise.all(Array.from({ length: opts.quick ? 2 : 1 }, lane));
const results = ORDER.filter((s) => byName.has(s)).map((s) => byName.get(s)!);

const unexplained = results.flatMap((r) => r.invariants.filter((i) => !i.ok && !i.known).map((i) => `${r.scenario}: ${i.name} (${i.detail})`));
const known = results.flatMap((r) => r.invariants.filter((i) => !i.ok && i.known).map((i) => `${r.scenario}: ${i.name} — ${i.known}`));
for (const k of known) console.log(`known: ${k}`);
for (const u of unexplained) console.log(`BROKEN: ${u}`);
if (opts.json) writeFileSync(opts.json, JSON.stringify(results, null, 2));
if (opts.write) {
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  writeSection(`${here}../RELIABILITY.md`, section(results, { machine, date: new Date().toISOString().slice(0, 10), seed: opts.seed, quick: opts.quick }));
  console.log('wrote bench/RELIABILITY.md (## Chaos suite)');
}
process.exitCode = unexplained.length ? 1 : 0;
