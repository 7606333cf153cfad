/**
 * `npm run bench:compare -- <baseline checkout>`: the same figure scripts from
 * an older checkout (e.g. `git worktree add /tmp/base <commit>`) and from this
 * one, interleaved (old, new, old, new, ...) in one run, so both see the same
 * machine. Prints each pair's medians and rewrites the `compare` section of
 * bench/RESULTS.md. Each run is its own process.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const baseline = resolve(process.argv[2] ?? process.env.BENCH_BASELINE ?? '');
if (!process.argv[2] && !process.env.BENCH_BASELINE) throw new TypeError('usage: npm run bench:compare -- <baseline checkout dir>');
if (!existsSync(`${baseline}/bench/heap.ts`)) throw new TypeError(`${baseline} has no bench/heap.ts: not a statewire checkout`);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const commitOf = (dir: string) => execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();

type Figure = Record<string, number | string>;
const timeoutMs = Number(process.env.BENCH_RUN_TIMEOUT_MS ?? 240_000);
/** One run; NaN when it fails or overruns (reported, never hidden). */
function run(dir: string, script: string, args: string[]): Figure {
  try {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', `${dir}/bench/${script}`, ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20, timeout: timeoutMs, killSignal: 'SIGKILL' });
    return JSON.parse(out.trim().split('\n').at(-1)!) as Figure;
  } catch (error) {
    console.error(`${dir} ${script} ${args.join(' ')}: ${(error as Error).message.split('\n')[0]}`);
    return {};
  }
}

interface Spec {
  label: string;
  script: string;
  args: string[];
  key: string;
  /** Higher is better (a rate) or lower is better (bytes, ms). */
  better: 'higher' | 'lower';
}

const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const allSpecs: Spec[] = [
  { label: 'core: heap bytes per connection (10,000, mock)', script: 'heap.ts', args: ['statewire', '10000'], key: 'bytesPerConnection', better: 'lower' },
  { label: 'core: SENDs/s, connectionMachine event path', script: 'send.ts', args: ['statewire', '200000'], key: 'perSecond', better: 'higher' },
  { label: 'core: SENDs/s, supervisor.send data path', script: 'send.ts', args: ['supervisor', '200000'], key: 'perSecond', better: 'higher' },
  { label: 'ws: TaskLogHub broadcast, msgs/s (1,000 clients)', script: 'ws/server.ts', args: ['hub', 'broadcast', '1000', '200'], key: 'messagesPerSecond', better: 'higher' },
  { label: 'ws: raw ws broadcast, msgs/s (anchor)', script: 'ws/server.ts', args: ['ws', 'broadcast', '1000', '200'], key: 'messagesPerSecond', better: 'higher' },
  { label: 'ws: TaskLogHub heap bytes per viewer (5,000)', script: 'ws/server.ts', args: ['hub', 'heap', '5000'], key: 'bytesPerClient', better: 'lower' },
  { label: 'unix: EdgeClient pipelined events/s', script: 'unix/edge.ts', args: ['pipelined', '200000'], key: 'perSecond', better: 'higher' },
  { label: 'unix: stop-and-wait events/s (anchor)', script: 'unix/edge.ts', args: ['stopwait', '50000'], key: 'perSecond', better: 'higher' },
];
const specs = only ? allSpecs.filter((s) => only.test(s.label)) : allSpecs;

const median = (xs: number[]) => {
  const ok = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return ok.length ? ok[Math.floor(ok.length / 2)]! : NaN;
};
const rows: string[] = [];
for (const spec of specs) {
  const old: number[] = [];
  const now: number[] = [];
  for (let i = 0; i < rounds; i++) {
    old.push(Number(run(baseline, spec.script, spec.args)[spec.key]));
    now.push(Number(run(resolve(here, '..'), spec.script, spec.args)[spec.key]));
  }
  const ratio = median(now) / median(old);
  const verdict = spec.better === 'higher' ? (ratio >= 0.95 ? 'not worse' : 'worse') : ratio <= 1.05 ? 'not worse' : 'worse';
  const line = { figure: spec.label, before: median(old), after: median(now), ratio: Number(ratio.toFixed(2)), runsBefore: old.join(' '), runsAfter: now.join(' '), verdict };
  console.log(JSON.stringify(line));
  rows.push(`| ${spec.label} | ${line.before} | ${line.after} | ${line.ratio.toFixed(2)}× | ${verdict} | ${old.join(', ')} / ${now.join(', ')} |`);
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const body = `<!-- group:compare -->
_Measured ${new Date().toISOString().slice(0, 10)} on ${machine}, by \`npm run bench:compare\`._

## Before and after: ${commitOf(baseline)} (before) against ${commitOf(resolve(here, '..'))} (after)

Each figure's scripts ran from both checkouts in one run, interleaved (before,
after, before, after, ...), ${rounds} rounds each; medians shown, then every run.
"Not worse" allows 5 % (the spread between runs on this machine is larger).

| figure | before | after | after / before | verdict | runs (before / after) |
|---|---|---|---|---|---|
${rows.join('\n')}
<!-- /group:compare -->
`;
const file = `${here}RESULTS.md`;
let text = readFileSync(file, 'utf8');
const re = /<!-- group:compare -->[\s\S]*?<!-- \/group:compare -->\n/;
text = re.test(text) ? text.replace(re, body) : `${text}\n${body}`;
writeFileSync(file, text);
