/**
 * The `redis` bench group (issue 16): `npm run bench -- redis`. Runs
 * bench/redis/broadcast.ts (its own redis-server, hub processes A and B,
 * viewer clients in two more processes) and returns the RESULTS.md section.
 *
 * Environment: BENCH_REDIS_ROUNDS (default 3), BENCH_REDIS_VIEWERS (500),
 * BENCH_REDIS_LINES (lines per viewer, 100); BENCH_REDIS_JSON=<file>: write
 * the section from a run's JSON line saved earlier instead of running.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { runFigure } from '../ipc.js';
import { spread } from '../stats.js';
import type { Run } from './broadcast.js';


const label = {
  hub: '`TaskLogHub` + `redisHubAdapter` (`hub.sendLog(task, ...)`)',
  socketio: 'socket.io + `@socket.io/redis-adapter` (`io.to(task).emit(...)`)',
};

export function redisSection(): string {
  let rounds = Math.max(3, Number(process.env.BENCH_REDIS_ROUNDS ?? 3));
  let viewers = Number(process.env.BENCH_REDIS_VIEWERS ?? 500);
  let lines = Number(process.env.BENCH_REDIS_LINES ?? 100);
  const saved = process.env.BENCH_REDIS_JSON;
  const out = (saved ? JSON.parse(readFileSync(saved, 'utf8')) : runFigure('redis/broadcast.ts', [String(rounds), String(viewers), String(lines)], 30 * 60_000)) as {
    runs: Run[];
    viewers: number;
    linesPerViewer: number;
    rounds: number;
  };
  ({ rounds, viewers, linesPerViewer: lines } = out);
  const of = (s: Run['subject']) => out.runs.filter((r) => r.subject === s);
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  const rate = (s: Run['subject']) => spread(of(s).map((r) => r.linesPerSecond));
  const cpu = (s: Run['subject'], k: keyof Run['cpuMsPer1kLines']) => spread(of(s).map((r) => r.cpuMsPer1kLines[k])).median;
  // Per round: the two subjects ran back to back, so their ratio is the fairest figure on a busy machine.
  const ratios = Array.from({ length: rounds }, (_, i) => {
    const h = out.runs.find((r) => r.subject === 'hub' && r.round === i)!;
    const s = out.runs.find((r) => r.subject === 'socketio' && r.round === i)!;
    return h.linesPerSecond / s.linesPerSecond;
  });
  const ratio = spread(ratios);
  const cpuRatio = (k: keyof Run['cpuMsPer1kLines']) => cpu('hub', k) / cpu('socketio', k);
  const total = (s: Run['subject']) => spread(of(s).map((r) => r.cpuMsPer1kLines.a + r.cpuMsPer1kLines.b + r.cpuMsPer1kLines.redis)).median;
  // On a busy machine the wall clock says more about the neighbours than about the subjects.
  const noisy = ratio.max / ratio.min > 1.5;
  const loads = out.runs.map((r) => r.load1);
  const failed = out.runs.reduce((n, r) => n + r.failed, 0);
  const verdict = ratio.median >= 1 ? '**met**' : '**missed**';
  return `## Redis: log lines from one producer to ${fmt(viewers)} viewers on two processes

A producer on hub process A sends ${lines} lines to each of ${fmt(viewers)}
tasks (one viewer each), one line per task per turn, without waiting on
each; half the viewers are on A, half on process B, each half in a client
process of its own, one local redis-server between A and B. Timed from A's
first line to the last viewer's last line (${fmt(viewers * lines)} lines),
after one warm-up line per task. ${rounds} rounds, the subjects interleaved
(the first rotating); min / median / max. CPU: user + system of A, B and
redis-server during the timed part, per 1,000 lines delivered (steadier
than wall time when the machine is shared). ${cpus().length} cores; load
average ${Math.min(...loads)} to ${Math.max(...loads)} during the runs.${failed ? ` ${failed} sendLog calls were refused.` : ''}

| subject | lines per second (min / median / max) | CPU ms per 1k lines: A | B | Redis | all three |
|---|---|---|---|---|---|
${(['hub', 'socketio'] as const).map((s) => `| ${label[s]} | ${fmt(rate(s).min)} / **${fmt(rate(s).median)}** / ${fmt(rate(s).max)} | ${cpu(s, 'a')} | ${cpu(s, 'b')} | ${cpu(s, 'redis')} | ${total(s).toFixed(1)} |`).join('\n')}

hub / socket.io, per round: ${ratios.map((r) => `${r.toFixed(2)}×`).join(', ')}; median **${ratio.median.toFixed(2)}×** (target ≥ 1×: ${verdict}${noisy ? '; the rounds disagree by more than 1.5×, so this run does not settle it: rerun on a quiet machine' : ''}).
CPU hub / socket.io (medians): A ${cpuRatio('a').toFixed(2)}×, B ${cpuRatio('b').toFixed(2)}×, Redis ${cpuRatio('redis').toFixed(2)}×, all three ${(total('hub') / total('socketio')).toFixed(2)}×.

What each does per line. socket.io publishes the packet (MessagePack) on
one channel every server pattern-subscribes to: every process gets every
line and drops those for rooms it does not hold, and A also writes its own
viewers' lines directly. The hub runs one Lua script per turn's lines (per
line: seq, stream entry, the queue rule, \`PUBLISH\` on the task's own
channel, which only the process holding its viewer subscribes to), so each
line reaches one process, and lines survive a viewer that is away (the
queue, \`lastSeq\`). That is the Redis CPU column: the script does more per
line than a \`PUBLISH\`. Both then write one WebSocket frame per viewer per
line, most of A's and B's time.
`;
}
