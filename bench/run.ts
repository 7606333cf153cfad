/**
 * `npm run bench [-- <group>...]`: every figure, each subject in its own
 * process (so heaps do not mix), side by side in one run. Groups: core, ws, unix,
 * serial, apigateway, tcp, storm, scale (bench/scale/: start, cycles, WebSocket viewers), redis (bench/redis/section.ts). Prints one JSON line per figure and rewrites the groups' sections of
 * bench/RESULTS.md (storm: bench/RELIABILITY.md); other sections are kept.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchCertificates } from './tcp/certs.js';
import { spread } from './stats.js';
import { scaleWsSection } from './scale/ws-section.js';
import { cyclesSection, startSection } from './scale/sections.js';
import { redisSection } from './redis/section.js';

const here = fileURLToPath(new URL('.', import.meta.url));
type Figure = Record<string, number | string>;
const node = (script: string, ...args: string[]): Figure => {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', `${here}${script}`, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const line = out.trim().split('\n').at(-1)!;
  console.log(line);
  return JSON.parse(line) as Figure;
};
const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const today = new Date().toISOString().slice(0, 10);

function core(): string {
  const N = Number(process.env.BENCH_CHILDREN ?? 10_000);
  const SENDS = Number(process.env.BENCH_SENDS ?? 200_000);
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
  // Interleaved rounds (issue 15: a fairer bench), the first subject alternating.
  const heap: Record<'bare' | 'statewire', Figure[]> = { bare: [], statewire: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const subject of (r % 2 === 0 ? ['bare', 'statewire'] : ['statewire', 'bare']) as Array<'bare' | 'statewire'>) {
      heap[subject].push(node('heap.ts', subject, String(N)));
    }
  }
  const sendBare = node('send.ts', 'bare', String(SENDS));
  const sendSw = node('send.ts', 'statewire', String(SENDS));
  const sendSup = node('send.ts', 'supervisor', String(SENDS));
  const bytes = (s: 'bare' | 'statewire') => spread(heap[s].map((f) => Number(f.bytesPerConnection)));
  const start = (s: 'bare' | 'statewire') => spread(heap[s].map((f) => Number(f.startMs)));
  const fmt = (x: { min: number; median: number; max: number }) => `${x.median} (${x.min}–${x.max})`;
  const heapRatio = bytes('statewire').median / bytes('bare').median;
  const sendRatio = Number(sendSw.perSecond) / Number(sendBare.perSecond);
  const supRatio = Number(sendSup.perSecond) / Number(sendBare.perSecond);
  return `## Core: heap bytes per connected connection (${N} connections, mock transport, after GC)

${ROUNDS} rounds, interleaved; median (min–max). The 1-minute load average at the end was ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores.

| subject | bytes per connection | time to start and connect all, ms |
|---|---|---|
| bare XState actor with one invoked callback (a root actor each) | ${fmt(bytes('bare'))} | ${fmt(start('bare'))} |
| statewire connection actor under a supervisor | ${fmt(bytes('statewire'))} | ${fmt(start('statewire'))} |

statewire / bare = **${heapRatio.toFixed(2)}×** (target ≤ 1.2×, issue 15). A statewire
connection is one actor that runs its link inside itself (\`LinkSession\`), and the
supervisor starts children outside XState's copied \`children\` map, so
starting n of them is O(n) (the \`scale\` group measures 1k / 10k / 100k).

## Core: SENDs per second through one connected connection to the mock link

| subject | SENDs per second |
|---|---|
| bare XState actor (SEND forwarded to its invoked callback) | ${sendBare.perSecond} |
| \`connectionMachine\` actor, \`actor.send({ type: 'SEND' })\` (the event path) | ${sendSw.perSecond} |
| \`supervisor.send(id, data)\` (the data path: straight to the open link) | ${sendSup.perSecond} |

connectionMachine / bare = **${sendRatio.toFixed(2)}×** (target ≥ 0.5×); through the supervisor ${supRatio.toFixed(2)}×.
`;
}

/** One run of a figure script that may fail or overrun: `{}` then (shown as a missing figure, never hidden). */
const tryNode = (timeoutMs: number, script: string, ...args: string[]): Figure => {
  try {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', `${here}${script}`, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: timeoutMs, killSignal: 'SIGKILL' });
    const line = out.trim().split('\n').at(-1)!;
    console.log(line);
    return JSON.parse(line) as Figure;
  } catch (error) {
    console.error(`${script} ${args.join(' ')}: ${(error as Error).message.split('\n')[0]}`);
    return {};
  }
};
const medianOf = (xs: number[]) => {
  const ys = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return ys.length ? ys[Math.floor(ys.length / 2)]! : NaN;
};
/** `min / median / max` of a subject's rounds. */
const spreadOf = (xs: number[], digits = 0) => {
  const ys = xs.filter((x) => Number.isFinite(x));
  return ys.length ? `${Math.min(...ys).toFixed(digits)} / **${medianOf(ys).toFixed(digits)}** / ${Math.max(...ys).toFixed(digits)}` : 'no run finished';
};

/** What the WebSocket section says under its broadcast figures (docs/ARCHITECTURE.md, issue 15, "Broadcast data path"). */
function wsNotes(f: { hubUser: number; frameUser: number; hubSystem: number; frameSystem: number; cpuRatio: number; met: boolean; rounds: number[] }): string {
  const below = f.rounds.filter((r) => r < 0.9).length;
  return `**Broadcast: the target is ${f.met ? 'met' : 'missed'} on the medians** (${below} of ${f.rounds.length} rounds below 0.9×).
The server CPU per message is the steadier figure: the hub uses ${f.cpuRatio.toFixed(2)}× what the
framed-once raw loop uses. System time per message is ${f.hubSystem.toFixed(2)} µs against
${f.frameSystem.toFixed(2)} µs, the same writes. The difference is user time: ${f.hubUser.toFixed(2)} µs against
${f.frameUser.toFixed(2)} µs, so the hub's JavaScript adds ${(f.hubUser - f.frameUser).toFixed(2)} µs per message.

- **How the hub broadcasts now** (issue 15). The message is framed once per
  broadcast. The frame is written to each viewer's socket when that
  socket's \`ws\` sender is idle, the way \`ws\` writes its own frames.
  Each viewer's outcome is counted in one object per broadcast. Before, each
  viewer had its own promise and its own write callback, and \`ws\`
  framed the message again for each. Measured beside this code (the branch
  point's hub with this bench, 3 interleaved rounds, load average 9–12), the
  old hub took 7.5–9.8 µs of user CPU per message, the new one 4.0–4.7 µs,
  and the framed-once raw loop 2.4–2.8 µs.
- **What the remaining user time is.** Each is one more object read per
  client on the way to the socket, a cache miss on a loaded machine. On the
  supervisor's side: the link registry's entry, and the child's actor
  (kept with the link once found), to see whether its snapshot is the one
  already found on the data path. On the link's side: the link itself.
  Profiles put the hub's JavaScript per client at about 1.5 µs before the
  last three changes: broadcasting by id without a set of the ids, one
  \`sendShared\` function for every link instead of a closure per link, and
  the child's actor kept with its link. Measured in interleaved pairs with
  the framed-once loop, the gap in user time then fell to 0.3–1.1 µs.
- **The rates move with the machine.** It has 2 cores shared with other
  work. A subject's rate changes by up to 3× from one round to the next,
  and the per-round ratios above show it. The server and the 1,000 clients
  take turns on those cores, so the rate also depends on how fast the
  clients read.`;
}

function ws(): string {
  const N = Number(process.env.BENCH_WS_CLIENTS ?? 1000);
  const B = Number(process.env.BENCH_WS_BROADCASTS ?? 200);
  const H = Number(process.env.BENCH_WS_HEAP_CLIENTS ?? 5000);
  const ROUNDS = Math.max(3, Number(process.env.BENCH_WS_ROUNDS ?? 5));
  const HEAP_ROUNDS = Math.max(3, Number(process.env.BENCH_WS_HEAP_ROUNDS ?? 3));
  const TIMEOUT = Number(process.env.BENCH_RUN_TIMEOUT_MS ?? 600_000);
  const load = loadavg()[0]!.toFixed(1);
  const subjects = ['ws-frame', 'ws-buffer', 'socketio', 'hub'] as const;
  type S = (typeof subjects)[number];
  const raws = ['ws-frame', 'ws-buffer'] as const;
  const bc = Object.fromEntries(subjects.map((s) => [s, [] as Figure[]])) as Record<S, Figure[]>;
  // Interleaved (A B C D, B C D A, ...): every subject sees the same machine, and none is always first.
  for (let i = 0; i < ROUNDS; i++) {
    for (let j = 0; j < subjects.length; j++) {
      const s = subjects[(i + j) % subjects.length]!;
      bc[s].push(tryNode(TIMEOUT, 'ws/server.ts', s, 'broadcast', String(N), String(B)));
    }
  }
  const heapSubjects = ['ws', 'socketio', 'hub'] as const;
  type HS = (typeof heapSubjects)[number];
  const heap = Object.fromEntries(heapSubjects.map((s) => [s, [] as Figure[]])) as Record<HS, Figure[]>;
  for (let i = 0; i < HEAP_ROUNDS; i++) {
    for (let j = 0; j < heapSubjects.length; j++) {
      const s = heapSubjects[(i + j) % heapSubjects.length]!;
      heap[s].push(tryNode(TIMEOUT, 'ws/server.ts', s, 'heap', String(H)));
    }
  }
  const rate = (f: Figure | undefined) => Number(f?.messagesPerSecond);
  const rates = (s: S) => bc[s].map(rate);
  const cpuOf = (s: S) => bc[s].map((f) => Number(f.cpuUsPerMessage));
  const userOf = (s: S) => bc[s].map((f) => Number(f.userUsPerMessage));
  const systemOf = (s: S) => bc[s].map((f) => Number(f.systemUsPerMessage));
  /** Per round: the hub against the stronger raw `ws` of that round. */
  const strongest = (i: number) => Math.max(...raws.map((r) => rate(bc[r][i])).filter((x) => Number.isFinite(x)));
  const perRound = (s: S, against: (i: number) => number) => bc[s].map((f, i) => rate(f) / against(i));
  const hubRounds = perRound('hub', strongest);
  const hubRatio = medianOf(rates('hub')) / Math.max(...raws.map((r) => medianOf(rates(r))));
  const cpuRatio = medianOf(cpuOf('hub')) / medianOf(cpuOf('ws-frame'));
  const fmt = (xs: number[]) => xs.map((x) => (Number.isFinite(x) ? x.toFixed(2) : '–')).join(', ');
  const label: Record<S, string> = {
    'ws-frame': 'raw `ws`, framed once: `Sender.frame(buf)` per broadcast, then `ws._sender.sendFrame(frame)` per open client',
    'ws-buffer': 'raw `ws`, encoded once: `c.send(buf, { binary: false })` per client (`buf = Buffer.from(message)`)',
    socketio: 'socket.io `io.emit` (websocket transport only, no compression; it encodes once per emit)',
    hub: '`TaskLogHub.broadcast(message)` (through the supervisor, `BroadcastResult` per viewer)',
  };
  const heapLabel: Record<HS, string> = { ws: 'raw `ws` server', socketio: 'socket.io server (as above)', hub: '`TaskLogHub` (a supervised connection per viewer)' };
  const heapOf = (s: HS) => heap[s].map((f) => Number(f.bytesPerClient));
  const startOf = (s: HS) => heap[s].map((f) => Number(f.startMs));
  const heapRatio = medianOf(heapOf('hub')) / medianOf(heapOf('socketio'));
  const met = hubRatio >= 0.9;
  return `## WebSocket: broadcast of a 1 KB message to ${N} connected clients

Clients run in a separate process (\`bench/ws/clients.ts\`) and count every
message; a run is ${B} broadcasts of the same 1 KB text message, timed until
the clients have all ${N * B}. Each subject runs in its own process, ${ROUNDS}
rounds, interleaved with the first subject rotating (A B C D, B C D A, ...);
a process makes a warm-up run and then 3 timed runs, and its figure is the
median of those 3. The table gives min / **median** / max over the rounds.
The server yields to I/O between broadcasts. The last column is the server
process's CPU time per message delivered, over its timed runs: on a
machine shared with other work it is steadier than the rates. System time
is mostly the socket writes (one \`writev\` per client and message, the
same for every subject); user time is the JavaScript.
The 1-minute load average at the start was ${load} on ${cpus().length} cores.

Every baseline is the strongest version of itself. Raw \`ws\` sends a
pre-encoded Buffer (the public API), and is also run framed once, with the
frame written to each socket. No \`ws\` server can do less per client. The
target compares the hub with the faster of the two in each round. socket.io
runs as its users configure it for this: the websocket transport only,
without per-message deflate.

| subject | messages delivered per second (min / median / max) | CPU µs per message (min / median / max) | of which user / system (medians) |
|---|---|---|---|
${subjects.map((s) => `| ${label[s]} | ${spreadOf(rates(s))} | ${spreadOf(cpuOf(s), 2)} | ${medianOf(userOf(s)).toFixed(2)} / ${medianOf(systemOf(s)).toFixed(2)} |`).join('\n')}

Per round, hub / the faster raw \`ws\` of that round: ${fmt(hubRounds)}
(hub / framed-once: ${fmt(perRound('hub', (i) => rate(bc['ws-frame'][i])))}; hub / encoded-once: ${fmt(perRound('hub', (i) => rate(bc['ws-buffer'][i])))}; socket.io / the faster raw: ${fmt(perRound('socketio', strongest))}).

hub / faster raw \`ws\` (medians) = **${hubRatio.toFixed(2)}×** (target ≥ 0.9×: ${met ? '**met**' : '**missed**'}); median of the per-round ratios ${medianOf(hubRounds).toFixed(2)}×. CPU per message, hub / framed-once raw \`ws\`: ${cpuRatio.toFixed(2)}×.

${wsNotes({ hubUser: medianOf(userOf('hub')), frameUser: medianOf(userOf('ws-frame')), hubSystem: medianOf(systemOf('hub')), frameSystem: medianOf(systemOf('ws-frame')), cpuRatio, met, rounds: hubRounds })}

## WebSocket: heap bytes per connected client (${H} clients, after GC)

${HEAP_ROUNDS} rounds, interleaved as above; min / **median** / max.

| subject | bytes per client | time to connect all, ms |
|---|---|---|
${heapSubjects.map((s) => `| ${heapLabel[s]} | ${spreadOf(heapOf(s))} | ${spreadOf(startOf(s))} |`).join('\n')}

hub / socket.io (medians) = **${heapRatio.toFixed(2)}×** (target ≤ 1×). The heap per connection is issue 15 §2, worked on apart from the broadcast.
`;
}

function unix(): string {
  const N = Number(process.env.BENCH_UNIX_EVENTS ?? 200_000);
  const SW = Number(process.env.BENCH_UNIX_STOPWAIT ?? 50_000);
  const ROUNDS = Math.max(3, Number(process.env.BENCH_UNIX_ROUNDS ?? 3));
  const subjects = ['pipelined', 'stopwait', 'raw'] as const;
  type S = (typeof subjects)[number];
  const load = loadavg()[0]!.toFixed(1);
  const runs: Record<S, Figure[]> = { pipelined: [], stopwait: [], raw: [] };
  // Interleaved, the first subject rotating each round: every subject sees the machine as the others do.
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < subjects.length; k++) {
      const s = subjects[(r + k) % subjects.length]!;
      runs[s].push(node('unix/edge.ts', s, String(s === 'stopwait' ? SW : N)));
    }
  }
  const num = (f: Figure, k: string) => Number(f[k]);
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const median = (xs: number[]) => {
    const v = sorted(xs);
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const rate = (s: S) => runs[s].map((f) => num(f, 'perSecond'));
  const mmm = (xs: number[], digits = 0) => {
    const v = sorted(xs);
    return `${v[0]!.toFixed(digits)} / **${median(v).toFixed(digits)}** / ${v.at(-1)!.toFixed(digits)}`;
  };
  const cpu = (s: S, k: 'cpuUsPerEvent' | 'peerCpuUsPerEvent') => median(runs[s].map((f) => num(f, k)));
  const perRound = (other: S) => runs.pipelined.map((f, i) => num(f, 'perSecond') / num(runs[other][i]!, 'perSecond'));
  const vsSw = perRound('stopwait');
  const vsRaw = perRound('raw');
  const fmt = (xs: number[], d: number) => xs.map((x) => x.toFixed(d)).join(', ');
  const label: Record<S, string> = {
    pipelined: `\`EdgeClient\`, ${N} \`sendEvent\` calls at once (inFlightLimit 256), each resolved by the agent's ack`,
    stopwait: `stop-and-wait at its fastest: a raw socket writes one frame; the 'data' handler that reads its ack writes the next (${SW} events)`,
    raw: 'raw socket writes of the same frames to a sink, no acks: ~64 KiB writes, `drain` awaited (timed until the sink has read them all)',
  };
  const rtUs = 1e6 / median(rate('stopwait'));
  const pipeUs = 1e6 / median(rate('pipelined'));
  const rawUs = 1e6 / median(rate('raw'));
  const swRatio = median(rate('pipelined')) / median(rate('stopwait'));
  const rawRatio = median(rate('pipelined')) / median(rate('raw'));
  const missed = [...(swRatio < 20 ? [`${swRatio.toFixed(1)}× stop-and-wait (target 20×)`] : []), ...(rawRatio < 0.5 ? [`${rawRatio.toFixed(2)}× raw (target 0.5×)`] : [])];
  return `## UNIX socket: acknowledged events per second over one socket

Each subject runs in its own process, and its peer in another: an
\`EdgeAgentServer\` (validates, dedupes per session, publishes, acks) for
\`EdgeClient\` and for stop-and-wait, a sink that counts lines for the raw
writes. A frame is a ~150-byte event. Each process first sends a tenth of its
events (at least 2,000) untimed, so both JITs are warm. The subjects that build
frames themselves build them as \`EdgeClient\` does (the event through
\`JSON.stringify\`, the ISO timestamp made once per millisecond). ${ROUNDS}
rounds, interleaved, the first subject rotating; min / **median** / max of
the rounds. CPU is user + system time while timed, per event, median of the
rounds. The 1-minute load average at the start was ${load} on ${cpus().length} cores (the
machine is shared: the per-round ratios compare runs made minutes apart at
most).

| subject | events per second (min / median / max) | all runs | CPU µs per event: subject / peer |
|---|---|---|---|
${subjects.map((s) => `| ${label[s]} | ${mmm(rate(s))} | ${rate(s).join(', ')} | ${cpu(s, 'cpuUsPerEvent').toFixed(2)} / ${cpu(s, 'peerCpuUsPerEvent').toFixed(2)} |`).join('\n')}

pipelined / stop-and-wait = **${swRatio.toFixed(1)}×** (target ≥ 20×); per round: ${fmt(vsSw, 1)}.
pipelined / raw = **${rawRatio.toFixed(2)}×** (target ≥ 0.5×); per round: ${fmt(vsRaw, 2)}.

${missed.length ? `**Below the target: ${missed.join('; ')}** (medians; see the per-round ratios).` : '**Both targets are met** (medians).'}

- A stop-and-wait round trip takes ${rtUs.toFixed(1)} µs here (median); 20× means one
  acked event every ${(rtUs / 20).toFixed(2)} µs, while the raw writes, which only build and
  write frames (no validation, no promise, no ack, nothing parsed on the far
  side), take ${rawUs.toFixed(2)} µs per event.
- \`EdgeClient\` takes ${pipeUs.toFixed(2)} µs per event (wall), using ${cpu('pipelined', 'cpuUsPerEvent').toFixed(2)} µs of CPU in the
  client and ${cpu('pipelined', 'peerCpuUsPerEvent').toFixed(2)} µs in the agent: the client, which carries all ${N}
  calls (promises, their resolvers, the caller's \`Promise.all\`) at once,
  is the busier side (the rest of the wall time it waits: for acks, or
  for a core on a shared machine).
- The baselines are stronger than before issue 15 (its section 4), which is
  why these ratios are lower than the 11.4× and 0.36× measured before it:
  stop-and-wait waited on a promise per ack, and each round trip went
  through the connection machine (the supervisor's inbound data path made
  it about 3× faster); raw writes went out one frame per write with a fresh
  \`toISOString()\` each. Against one bench and one agent, interleaved on a
  loaded machine (2026-11-30), \`EdgeClient\` went from 35–40k to 94–109k
  events per second, its CPU per event from 9.6–11.4 µs to 4.0–5.4, the
  agent's from 2.9–3.5 µs to 2.0–2.4. What was measured, what changed and what was not
  chosen (an adaptive window, corked writes): docs/ARCHITECTURE.md, "EdgeClient pipelining".
`;
}

function serial(): string {
  const N = Number(process.env.BENCH_SERIAL_ROUNDTRIPS ?? 5000);
  const ROUNDS = 3;
  const BAUD = 115200;
  // `FA;` out (3 bytes) and `FA00014074000;` back (14).
  const BYTES = 3 + 14;
  const lineRate = BAUD / 10 / BYTES; // 8N1: a start bit, 8 data bits, a stop bit per byte
  const subjects = ['catclient', 'bare'] as const;
  const load = loadavg()[0]!.toFixed(1);
  const runs: Record<(typeof subjects)[number], Figure[]> = { catclient: [], bare: [] };
  // Interleaved (catclient, bare, catclient, bare, ...): both see the same machine.
  for (let i = 0; i < ROUNDS; i++) for (const s of subjects) runs[s].push(node('serial/cat.ts', s, String(N)));
  const med = (s: (typeof subjects)[number]) => {
    const sorted = runs[s].map((r) => Number(r.perSecond)).sort((a, b) => a - b);
    return { median: sorted[Math.floor(sorted.length / 2)]!, all: runs[s].map((r) => r.perSecond).join(', ') };
  };
  const cat = med('catclient');
  const bare = med('bare');
  // Each catclient run beside the bare run just after it: the fairest comparison on a shared machine.
  const pairs = runs.catclient.map((r, i) => (Number(r.perSecond) / Number(runs.bare[i]!.perSecond)).toFixed(2)).join(', ');
  return `## Serial: CAT round trips per second over a socat pty pair (115200 baud set)

The rig is the TS-590S emulator in its own process (\`statewire rig-emulator
--pty --baud 115200\`); the subject opens the other end of the pair. A round
trip is \`FA;\` out and \`FA00014074000;\` back, one at a time; ${N} of them
per run after 500 to warm up. ${ROUNDS} runs of each subject, interleaved; the
median is shown, with all runs listed (1-minute load average at the start:
${load} on ${cpus().length} cores).

| subject | round trips per second | runs |
|---|---|---|
| \`catClient(link).getFrequency()\` on \`serialTransport\` (FIFO, timeout, parse) | ${cat.median} | ${cat.all} |
| bare \`serialport\`: write \`FA;\`, wait for the \`;\`-terminated answer with a 'data' listener | ${bare.median} | ${bare.all} |
| line rate: ${BYTES} bytes per round trip at ${BAUD} baud, 8N1 (10 bits a byte), nothing else | ${Math.round(lineRate)} | computed |

catClient / bare = **${(cat.median / bare.median).toFixed(2)}×**; catClient / line rate = **${(cat.median / lineRate).toFixed(1)}×**.

catClient / bare in each interleaved pair of runs: ${pairs}. What the CAT
client adds per command (a queue slot, a timer set and cleared, the frame
parser, the parse of the answer) is small beside the round trip itself: three
processes (the subject, socat, the rig), each woken by a poll, with
serialport reading through libuv's thread pool.

**A pty ignores the baud rate**: the kernel moves the bytes as fast as the
processes read them, so both measured rows are bound by the processes and the
pty, not by ${BAUD} baud. The line-rate row is what a real cable at ${BAUD}
baud would cap a stop-and-wait exchange at, before the rig's own time to
answer; at the TS-590S factory setting of 9600 baud it is ${Math.round(9600 / 10 / BYTES)} round trips per
second.
`;
}

function apigateway(): string {
  const N = Number(process.env.BENCH_APIGW_IDS ?? 10_000);
  const ROUNDS = Number(process.env.BENCH_APIGW_ROUNDS ?? 4);
  const RUNS = Number(process.env.BENCH_APIGW_RUNS ?? 3);
  const load = loadavg()[0]!.toFixed(1);
  const f = node('apigateway/broadcast.ts', String(N), String(ROUNDS), String(RUNS)) as unknown as {
    connected: number;
    received: number;
    expected: number;
    emulator: Record<'manager' | 'sdk', Figure[]>;
    bare: Record<'manager' | 'sdk', Figure[]>;
  };
  const overhead = node('apigateway/overhead.ts', '200000', '7');
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : Math.round((s[s.length / 2 - 1]! + s[s.length / 2]!) / 2);
  };
  const summary = (where: 'emulator' | 'bare') => {
    // Every timed broadcast of a subject, and their median.
    const m = f[where].manager.flatMap((r) => r.runs as unknown as number[]);
    const s = f[where].sdk.flatMap((r) => r.runs as unknown as number[]);
    // Each manager process beside the anchor process of the same round: the fairest comparison on a shared machine.
    const pairs = f[where].manager.map((r, i) => (Number(r.perSecond) / Number(f[where].sdk[i]!.perSecond)).toFixed(2));
    const failed = [...f[where].manager, ...f[where].sdk].reduce((n, r) => n + Number(r.failed), 0);
    return { m: median(m), s: median(s), ratio: median(m) / median(s), pairs: pairs.join(', '), mAll: m.join(', '), sAll: s.join(', '), failed };
  };
  const emu = summary('emulator');
  const bare = summary('bare');
  return `## API Gateway: broadcast to ${N} connection ids at concurrency 50

Every part runs in its own process: the subject, \`createApiGatewayEmulator()\`
(its rate limit off: sending is measured here, not throttling) and ${f.connected}
real \`ws\` clients of the emulator, one per id. So each request is answered
200 and a message is delivered (the clients received ${f.received} of the
${f.expected} messages sent). Both subjects use the same SDK client
configuration (\`maxAttempts: 1\`, dummy credentials). Both encode the message
(a 180-byte JSON object) once per broadcast and collect every failure.
There are ${ROUNDS} processes of each subject, interleaved, and the first
one alternates. Each process makes a warm-up broadcast to 2,000 ids, then
${RUNS} timed broadcasts to all ${N}. The table shows the median of all timed
broadcasts and lists every one. The 1-minute load average at the start was
${load} on ${cpus().length} cores.

| subject | messages per second, through the emulator | runs |
|---|---|---|
| \`ApiGatewayManager.broadcast(ids, message, { concurrency: 50 })\` (default rate cap 10,000/s) | ${emu.m} | ${emu.mAll} |
| anchor: 50 workers pulling ids, \`await client.send(new PostToConnectionCommand(...))\` on the raw SDK client | ${emu.s} | ${emu.sAll} |

manager / anchor = **${emu.ratio.toFixed(2)}×** (target ≥ 0.9×). Per round (the process medians): ${emu.pairs}. Failed sends: ${emu.failed}.

The same against a bare HTTP server that answers 200 at once, with no
emulator and no WebSocket behind it. What is left is the SDK and the subject:

| subject | messages per second, bare server | runs |
|---|---|---|
| \`ApiGatewayManager.broadcast\` | ${bare.m} | ${bare.mAll} |
| anchor loop on the raw SDK client | ${bare.s} | ${bare.sAll} |

manager / anchor = **${bare.ratio.toFixed(2)}×**. Per round: ${bare.pairs}. Failed sends: ${bare.failed}.

What the manager adds to a request, measured without the SDK's cost
(\`bench/apigateway/overhead.ts\`: the same two loops over a client whose
\`send\` answers at once, 200,000 ids, median of 7 alternating runs in one
process): **${overhead.usAdded} µs** (manager ${overhead.usManager} µs, anchor ${overhead.usAnchor} µs
a request). That is the worker loop, the rate bucket, three clock readings
and the latency histogram.

Both subjects are bound by the SDK. At the rates above the subject process
keeps one core busy, so each request costs it about ${Math.round(1e6 / bare.s)} µs of CPU. A
CPU profile of either subject puts nearly all of that in the SDK's
middleware stack and SigV4 signing, Node's HTTP client and the garbage
collector; the manager's own functions are under 1 % of the manager's
profile. The manager's ${overhead.usAdded} µs is under 0.1 % of a request, so it cannot
explain a gap between the rows; the spread between rounds (the per-round
ratios above) is the noise of a machine shared with other work.
`;
}

function tcp(): string {
  const N = Number(process.env.BENCH_TCP_ROUNDTRIPS ?? 10_000);
  const MB = Number(process.env.BENCH_TCP_MB ?? 1024);
  const ROUNDS = Number(process.env.BENCH_TCP_ROUNDS ?? 5);
  const load = loadavg()[0]!.toFixed(1);
  const certs = benchCertificates();
  const subjects = ['raw', 'link', 'supervisor'] as const;
  const modes = ['echo', 'upload', 'download'] as const;
  type S = (typeof subjects)[number];
  type M = (typeof modes)[number];
  const runs = Object.fromEntries(modes.map((m) => [m, Object.fromEntries(subjects.map((s) => [s, [] as Figure[]]))])) as Record<M, Record<S, Figure[]>>;
  try {
    // Interleaved (raw, link, supervisor, raw, ...), the first subject rotating each round: all see the same machine.
    for (let i = 0; i < ROUNDS; i++) {
      for (const m of modes) {
        for (let j = 0; j < subjects.length; j++) {
          const s = subjects[(i + j) % subjects.length]!;
          runs[m][s].push(node('tcp/client.ts', s, m, String(m === 'echo' ? N : MB), certs.dir));
        }
      }
    }
  } finally {
    certs.remove();
  }
  const value = (m: M, f: Figure) => Number(m === 'echo' ? f.perSecond : f.mbPerSecond);
  const cpuOf = (m: M, f: Figure) => Number(m === 'echo' ? f.cpuUsPerRoundTrip : f.cpuUsPerMiB);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const med = (m: M, s: S) => median(runs[m][s].map((f) => value(m, f)));
  const cpu = (m: M, s: S) => median(runs[m][s].map((f) => cpuOf(m, f)));
  const all = (m: M, s: S) => runs[m][s].map((f) => value(m, f)).join(', ');
  const pairs = (m: M, s: S) => runs[m][s].map((f, i) => (value(m, f) / value(m, runs[m].raw[i]!)).toFixed(2)).join(', ');
  const ratio = (m: M, s: S) => Number((med(m, s) / med(m, 'raw')).toFixed(2));
  /** Extra CPU of `s` over raw, per round trip (µs) or per MiB (µs), and as a share of raw's. */
  const extra = (m: M, s: S) => {
    const pct = Math.round((100 * (cpu(m, s) - cpu(m, 'raw'))) / cpu(m, 'raw'));
    return { abs: cpu(m, s) - cpu(m, 'raw'), pct: `${pct > 0 ? '+' : pct < 0 ? '−' : '±'}${Math.abs(pct)} %` };
  };
  /** How far raw's runs of `m` spread in CPU: (max − min) / median. */
  const spread = (m: M) => {
    const xs = runs[m].raw.map((f) => cpuOf(m, f));
    return `${Math.round((100 * (Math.max(...xs) - Math.min(...xs))) / cpu(m, 'raw'))} %`;
  };
  const label: Record<S, string> = {
    raw: 'raw `tls.connect` socket (`write`, paced by `drain`; a `data` listener)',
    link: '`tcpTransport` link (`link.send`, 16 in flight; `incoming$`)',
    supervisor: 'through a supervisor (`handle.send`, 16 in flight; `handle.data$`)',
  };
  const unit: Record<M, string> = { echo: 'round trips per second', upload: 'MB/s', download: 'MB/s' };
  const cpuUnit: Record<M, string> = { echo: 'CPU µs per round trip', upload: 'CPU µs per MiB', download: 'CPU µs per MiB' };
  const title: Record<M, string> = {
    echo: `Echo: ${N} round trips of a 64-byte message, one after another`,
    upload: `Bulk upload: ${MB} MiB to the peer in 64 KiB sends, 8 MiB blocks each acknowledged`,
    download: `Bulk download: ${MB} MiB from the peer, asked for in 8 MiB blocks`,
  };
  const table = (m: M) => `### ${title[m]}

| subject | ${unit[m]} (median) | runs | / raw, per round | ${cpuUnit[m]} (median) |
|---|---|---|---|---|
${subjects.map((s) => `| ${label[s]} | ${med(m, s)} | ${all(m, s)} | ${s === 'raw' ? '' : pairs(m, s)} | ${cpu(m, s)} |`).join('\n')}

link / raw = **${ratio(m, 'link').toFixed(2)}×**; supervisor / raw = **${ratio(m, 'supervisor').toFixed(2)}×** (target ≥ 0.9×). CPU against raw: link ${extra(m, 'link').pct}, supervisor ${extra(m, 'supervisor').pct}.
`;
  const missed = subjects.flatMap((s) => (s === 'raw' ? [] : modes.filter((m) => ratio(m, s) < 0.9).map((m) => `${s} ${m}`)));
  return `## TCP/TLS: one TLS 1.3 connection on loopback, statewire vs raw \`tls\` sockets

The peer is a Node TLS server in its own process (\`bench/tcp/peer.ts\`: an
echo, a sink or a source), started by each subject's process; certificates
from the openssl CLI (EC P-256). Each subject runs in its own process,
${ROUNDS} rounds, interleaved, the first subject rotating; the median of the
rounds is shown with every run, and each run's ratio to the raw run of its
round. Warm-up before timing: 1,000 round trips, or two 8 MiB blocks. The
1-minute load average at the start was ${load} on ${cpus().length} cores. The
last column is the CPU time the subject's process used while timed (user +
system, \`process.cpuUsage\`), per round trip or per MiB: on a machine
shared with other work it is steadier than the rates, whose rounds scatter
on both sides of raw.

${modes.map(table).join('\n')}
${missed.length ? `**Below the target: ${missed.join(', ')}** (medians; see the per-round ratios). ` : '**Every figure meets the target.** '}Where the time goes:

- **The link** (\`tcpTransport\`, \`transports/stream/link.ts\`): CPU
  per round trip ${extra('echo', 'link').pct} (${extra('echo', 'link').abs.toFixed(1)} µs), per MiB ${extra('upload', 'link').pct} up and
  ${extra('download', 'link').pct} down (raw's own runs spread by ${spread('echo')}, ${spread('upload')} and ${spread('download')} in CPU). What it does beyond a raw
  socket is a promise and a write callback per send, a \`Uint8Array\` view
  and a subject \`next\` per chunk read. A CPU profile of its echo run
  matches raw's: the time is in the TLS write (\`writeBuffer\`: encryption
  and the loopback syscall) and in waiting for the peer.
- **The supervisor**: CPU per round trip ${extra('echo', 'supervisor').pct} (${extra('echo', 'supervisor').abs.toFixed(1)} µs).
  Neither way pays an XState event per message while the child is
  \`connected\`: sends are written straight to the open link (\`directSend\`,
  issue 3) and each chunk read is emitted on the child straight from the
  link (\`deliverDirect\`, issue 14; the stock machine would only have
  emitted it). Before that inbound path each chunk was a \`LINK_DATA\`
  event through \`macrostep\`/\`microstep\` (about 14 µs of a 64-byte round
  trip: the supervisor's echo ran at 0.78× raw with +62 % CPU on a quiet
  machine). What is left is the transport actor's and the supervisor's
  dispatch to \`handle.data$\` and \`data$\`. Bulk: per MiB down
  ${extra('download', 'supervisor').pct} against raw, ${extra('download', 'link').pct} for the bare link.
`;
}

function storm(): string {
  const N = Number(process.env.BENCH_STORM_CLIENTS ?? 1000);
  const DOWN = Number(process.env.BENCH_STORM_DOWN_MS ?? 1000);
  const modes = ['relative', 'full', 'decorrelated'] as const;
  const model = Object.fromEntries(modes.map((m) => [m, node('storm.ts', 'model', m, String(N), String(DOWN))])) as Record<(typeof modes)[number], Figure>;
  const measured = Object.fromEntries(
    modes.map((m) => {
      const runs = [0, 1, 2].map(() => node('storm.ts', 'storm', m, String(N), String(DOWN)));
      const attempts = runs.map((r) => Number((r.attempts as unknown as Figure).peakPct)).sort((a, b) => a - b);
      runs.sort((a, b) => Number(a.peakPct) - Number(b.peakPct));
      return [m, { median: runs[1]!, all: runs.map((r) => `${r.peakPct} %`).join(', '), attempts: `**${attempts[1]} %** (${attempts.join(', ')})` }];
    }),
  ) as Record<(typeof modes)[number], { median: Figure; all: string; attempts: string }>;
  const ways = { kill: 'SIGKILL', frames: 'close frame 1001 to every client, then exit (raw `ws`)', hub: '`TaskLogHub.close()` (a statewire server, graceful)', listener: '`wss.close()` + `http.close()` only', freeze: 'SIGSTOP (silent peer); clients ping every 1 s, pong timeout 1 s' } as const;
  const detect = Object.fromEntries(Object.keys(ways).map((w) => [w, node('storm.ts', 'detect', w, String(N))])) as Record<keyof typeof ways, Figure>;
  const ms = (f: Figure) => (f.ms ? (f.ms as unknown as Record<string, number>) : undefined);
  const label = { relative: "`'relative'` (±10 %, the default)", full: "`'full'`", decorrelated: "`'decorrelated'`" };
  return `## Reconnect storm: ${N} WebSocket clients, server killed and back after ${DOWN} ms

${N} \`webSocketTransport\` children (default policy but \`jitterMode\`,
\`maxRetries: Infinity\`), 4 client processes with one supervisor each, and a
raw \`ws\` server, each in its own process, on 127.0.0.1. The server is
SIGKILLed; a new server process listens on the same port ${DOWN} ms later and
counts TCP accepts per 100 ms window from then. **Peak** is the busiest window
as a share of the clients (target with full/decorrelated: ≤ 25 %). *Model* is
the same storm without I/O or CPU limits: every client loses its link at 0 and
retries on \`backoffDelay\` (seeded), the first attempt at or after ${DOWN} ms is
accepted. *Measured*: median of 3 runs (all runs listed), counted two ways:
TCP accepts as the new server's event loop saw them, and the moment each
client started the attempt that got it back (its last
\`EVENT_RECONNECT_START\`), per 100 ms from the same origin.

| \`jitterMode\` | peak, model | all back, model | peak accepts, measured | runs | all back, measured | peak attempt starts, measured (runs) |
|---|---|---|---|---|---|---|
${modes.map((m) => `| ${label[m]} | **${model[m].peakPct} %** | ${model[m].allBackMs} ms | **${measured[m].median.peakPct} %** | ${measured[m].all} | ${measured[m].median.allBackMs} ms | ${measured[m].attempts} |`).join('\n')}

Accepts per 100 ms window after the restart (measured, the median run):

${modes.map((m) => `- ${label[m]}: ${measured[m].median.windows}`).join('\n')}

## Noticing a dead server: ${N} WebSocket clients

From the server going away to each client's \`EVENT_STATE_CHANGE\`
connected → reconnecting (4 client processes, default link options unless
said; ${detect.listener.withinMs} ms allowed for \`listener\`, 15 s for the others).

| how the server went away | noticed | min | median | p99 | max |
|---|---|---|---|---|---|
${(Object.keys(ways) as Array<keyof typeof ways>).map((w) => {
  const d = ms(detect[w]);
  return `| ${ways[w]} | ${detect[w].noticed} of ${N} | ${d ? `${d.min} ms | ${d.median} ms | ${d.p99} ms | ${d.max} ms` : '– | – | – | –'} |`;
}).join('\n')}
`;
}

/**
 * `scale` (issue 15): one section per part, in this order, each a function
 * returning its markdown (bench/scale/). Parts measured elsewhere (the
 * WebSocket viewers and the reconnect storm, bench/scale/ws*.ts) are added to
 * this list.
 */
const scaleSections: Array<() => string> = [() => startSection(node), () => cyclesSection(node), () => scaleWsSection()];
function scale(): string {
  return scaleSections.map((section) => section()).join('\n');
}

const groups: Record<string, () => string> = { core, ws, unix, serial, apigateway, tcp, storm, scale, redis: redisSection };
/** The file a group's section goes in, and that file's header. */
const files: Record<string, { name: string; header: string }> = {
  results: {
    name: 'RESULTS.md',
    header: `# Benchmark results

Written by \`npm run bench\`; each group's section says when and where it was
measured. Each subject runs in its own process; a group's subjects run in the
same run, side by side.
`,
  },
  reliability: {
    name: 'RELIABILITY.md',
    header: `# Reliability measurements

Written by \`npm run bench -- storm\` (issue 11). The sections between the
group markers are regenerated; the rest is kept.
`,
  },
};
const fileOf = (g: string) => (g === 'storm' ? files.reliability! : files.results!);
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(groups);
for (const g of wanted) if (!groups[g]) throw new TypeError(`unknown bench group "${g}"; groups: ${Object.keys(groups).join(', ')}`);

for (const g of wanted) {
  const { name, header } = fileOf(g);
  const file = `${here}${name}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (!text.includes('<!-- group:')) text = header;
  const body = `<!-- group:${g} -->\n_Measured ${today} on ${machine}._\n\n${groups[g]!()}<!-- /group:${g} -->\n`;
  const re = new RegExp(`<!-- group:${g} -->[\\s\\S]*?<!-- /group:${g} -->\\n`);
  // A function, not the string: a body with "$`" in it (`data$` in backquotes) would be read as a replacement pattern.
  text = re.test(text) ? text.replace(re, () => body) : `${text}\n${body}`;
  writeFileSync(file, text);
}
