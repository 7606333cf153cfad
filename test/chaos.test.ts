/**
 * The chaos suite, short (issue 11): `npm run chaos -- --quick` with a fixed
 * seed, in a child process (each scenario in a process of its own: real
 * sockets on loopback, a real agent process SIGKILLed, real fuzzed servers),
 * then its invariants asserted one by one: nothing acknowledged is lost, no
 * crash, no handle left, only typed errors from bad arguments.
 *
 * An invariant that fails today because of a defect being fixed elsewhere
 * (or found by this suite and not yet assigned) is marked `// KNOWN:` and
 * printed instead of asserted, and only while the suite itself explains the
 * failure by that defect (`known`); any other failure of it fails the test.
 * When the fix lands, turn its `soft(...)` into `hard(...)`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What bench/chaos writes per scenario (its JSON shape; nothing imports bench/). */
interface Invariant {
  name: string;
  ok: boolean;
  detail: string;
  known?: string;
}
interface Result {
  scenario: string;
  summary: string;
  rows: Array<{ part: string; sent: number; received: number; lost: number; crashes: number; leakedHandles: number }>;
  invariants: Invariant[];
}

const root = fileURLToPath(new URL('..', import.meta.url));
const SEED = 11;
const test = suite('chaos');
let results: Result[] = [];
let output = '';

test.before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-chaos-'));
  const json = join(dir, 'chaos.json');
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/chaos/run.ts', '--quick', '--seed', String(SEED), '--no-write', '--json', json], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  await new Promise((r) => child.on('close', r));
  try {
    results = JSON.parse(readFileSync(json, 'utf8')) as Result[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const checked = new Set<string>();

function find(scenario: string, name: string): Invariant {
  const result = results.find((r) => r.scenario === scenario);
  assert.ok(result, `scenario ${scenario} ran (runner output: ${output.slice(-600)})`);
  const inv = result.invariants.find((i) => i.name === name);
  assert.ok(inv, `${scenario} checks "${name}" (it checks: ${result.invariants.map((i) => i.name).join('; ')})`);
  checked.add(`${scenario}/${name}`);
  return inv;
}

/** The invariant holds. */
function hard(scenario: string, name: string) {
  const inv = find(scenario, name);
  assert.ok(inv.ok, `${scenario}: ${name}: ${inv.detail}`);
}

/** The invariant holds, or fails only by `defect` (which the suite names in `known`): printed then. */
function soft(scenario: string, name: string, defect: RegExp) {
  const inv = find(scenario, name);
  if (inv.ok) return;
  assert.ok(inv.known && defect.test(inv.known), `${scenario}: ${name}: ${inv.detail}${inv.known ? ` (explained as "${inv.known}", not by ${defect})` : ''}`);
  console.log(`  [chaos] ${inv.known}: ${scenario}: ${name}: ${inv.detail.slice(0, 300)}`);
}

/** Every invariant of `scenario` not named by a test above holds too. */
function rest(scenario: string) {
  const result = results.find((r) => r.scenario === scenario);
  assert.ok(result, `scenario ${scenario} ran`);
  for (const inv of result.invariants) if (!checked.has(`${scenario}/${inv.name}`)) assert.ok(inv.ok, `${scenario}: ${inv.name}: ${inv.detail}`);
  assert.ok(result.rows.length > 0 && result.rows.every((r) => r.sent > 0), `${scenario} did something: ${result.summary}`);
}

test('chaos ws: WebSocket clients and hub viewers under cuts, stalls, slow spells and refusals', () => {
  hard('ws', 'clients: every acked frame reached the server');
  hard('ws', 'clients: every send settled (acked or told)');
  hard('ws', 'viewers: every accepted line arrived');
  hard('ws', 'viewers: exactly once');
  hard('ws', 'viewers: in seq order per task');
  hard('ws', 'no crash');
  hard('ws', 'no handle left after shutdown');
  rest('ws');
});

test('chaos edge: EdgeClients while their agent is SIGKILLed: no acked event lost', () => {
  hard('edge', 'every acked event reached an agent');
  hard('edge', 'every send settled (acked or told)');
  hard('edge', 'one agent process publishes an event once');
  hard('edge', 'no crash');
  hard('edge', 'no handle left after shutdown');
  rest('edge');
});

test('chaos supervisor: a crash-on-start child waits its restart backoff, leaves its siblings alone and escalates at maxRestarts', () => {
  hard('supervisor', 'restarts wait their backoff (100 ms doubling)');
  hard('supervisor', 'one_for_one: the crasher alone restarts until the intensity');
  hard('supervisor', 'escalation at the configured count');
  hard('supervisor', 'escalation closes every sibling link');
  hard('supervisor', '3000 restarts done, supervisor running');
  hard('supervisor', 'siblings untouched by the storm');
  hard('supervisor', 'no crash of the process');
  hard('supervisor', 'no handle left after shutdown');
  // Not asserted here: 3,000 restarts are too few for a 5 % heap bound (JIT warm-up shows); `npm run chaos` measures 10,000.
  find('supervisor', 'heap after GC flat (within 5 %)');
  rest('supervisor');
});

test('chaos fuzz-servers: the agent, the hub and the visualizer take bad frames without crashing', () => {
  for (const kind of ['agent', 'hub'] as const) {
    hard('fuzz-servers', `${kind}: no crash`);
    hard('fuzz-servers', `${kind}: every frame answered (no silence, no hang)`);
    hard('fuzz-servers', `${kind}: heap after GC bounded (< 16 MB growth)`);
    hard('fuzz-servers', `${kind}: Object.prototype untouched`);
    hard('fuzz-servers', `${kind}: control frames accepted`);
  }
  hard('fuzz-servers', 'agent: bad frames never accepted');
  hard('fuzz-servers', 'hub: frames over maxPayload closed with 1009');
  hard('fuzz-servers', 'hub: still serves viewers while fuzzed');
  for (const name of ['no crash', 'every frame answered (no silence, no hang)', 'heap after GC bounded (< 16 MB growth)', 'Object.prototype untouched', 'control frames accepted']) {
    hard('fuzz-servers', `viz: ${name}`);
  }
  hard('fuzz-servers', 'viz: bad frames never accepted');
  hard('fuzz-servers', 'viz: frames over maxPayload closed with 1009');
  hard('fuzz-servers', 'fuzzer: no handle left');
  rest('fuzz-servers');
});

test('chaos fuzz-api: bad arguments get TypeError, RangeError or a StatewireError, never a crash or a hang', () => {
  hard('fuzz-api', 'only TypeError, RangeError or a StatewireError');
  hard('fuzz-api', 'no hang');
  hard('fuzz-api', 'no crash');
  hard('fuzz-api', 'no timer overflow or other process warning');
  hard('fuzz-api', 'results make sense (finite delays, loopback servers, prototype-named ids)');
  hard('fuzz-api', 'computed delays stay within 2^31-1 ms (restartBackoff, jitter past the cap)');
  hard('fuzz-api', 'no handle left');
  rest('fuzz-api');
});

test.run();
