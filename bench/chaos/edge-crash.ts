/**
 * Scenario "edge": EdgeClients (`statewire/unix`) sending events to an
 * EdgeAgentServer in a child process that is SIGKILLed and restarted on a
 * seeded schedule while they send.
 *
 * An event whose `sendEvent` resolved was acked, and the agent prints each
 * event before it acks it (bench/chaos/agent.ts), so every acked event must
 * be among the lines the agent processes printed: lost = acked and never
 * printed. An agent that dies after printing and before its ack reached the
 * client gets the event again from the client's re-send: a duplicate,
 * allowed (at-least-once across agent crashes) and counted. Within one agent
 * process, the session line makes re-sends idempotent: duplicates there are
 * counted apart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgeClient } from '../../transports/unix/index.js';
import {
  CrashCounter,
  MemoryPeak,
  between,
  describe,
  invariant,
  leakedSince,
  random,
  resources,
  sleep,
  subSeed,
  tally,
  waitFor,
  within,
  type ScenarioOptions,
  type ScenarioResult,
} from './lib.js';

const AGENT = fileURLToPath(new URL('./agent.ts', import.meta.url));

interface Agent {
  child: ChildProcess;
  life: number;
  /** Resolves when its stdout has been read to the end. */
  done: Promise<void>;
}

export async function run({ seed, quick }: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const clientCount = quick ? 3 : 10;
  const perClient = quick ? 50 : 400;
  /** Mean ms between two events of one client: about 2.5 s of sending quick, 20 s full. */
  const gap = 50;
  const before = resources();
  const crashes = new CrashCounter();
  const peak = new MemoryPeak();
  const rand = random(subSeed(seed, 'edge'));
  const dir = mkdtempSync(join(tmpdir(), 'swc-'));
  const path = join(dir, 'agent.sock');

  // Every event line any agent process printed: "client n" -> how many times, and per life.
  const printed = new Map<string, number>();
  const perLife = new Map<string, number>();
  let sameLifeDuplicates = 0;
  let lives = 0;
  const agentErrors: string[] = [];

  async function startAgent(): Promise<Agent> {
    const life = ++lives;
    const child = spawn(process.execPath, ['--import', 'tsx', AGENT, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    child.stdout!.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        if (line === 'ready') ready();
        else if (line.startsWith('e ')) {
          const key = line.slice(2);
          printed.set(key, (printed.get(key) ?? 0) + 1);
          const lifeKey = `${life}:${key}`;
          if (perLife.has(lifeKey)) sameLifeDuplicates++;
          perLife.set(lifeKey, 1);
        }
      }
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<void>((r) => child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) agentErrors.push(`agent life ${life} exited ${code ?? signal}: ${stderr.slice(-300)}`);
      ready(); // never leave a waiter hanging on a process that died before "ready"
      r();
    }));
    await isReady;
    return { child, life, done };
  }

  let agent = await startAgent();
  const clients = await Promise.all(
    Array.from({ length: clientCount }, () =>
      EdgeClient.open({ path, ackTimeoutMs: 5000, inFlightLimit: 32, policy: { initialBackoffMs: 20, maxBackoffMs: 200, connectTimeoutMs: 2000 } }),
    ),
  );

  const acked = new Set<string>();
  const failures: Record<string, number> = {};
  let sent = 0;
  const pending = new Set<Promise<void>>();
  let sending = true;
  const senders = clients.map(async (client, c) => {
    const r = random(subSeed(seed, `edge-client${c}`));
    for (let n = 1; n <= perClient; n++) {
      sent++;
      const p = client.sendEvent('ChaosEvent', 'low', { c, n }).then(
        () => void acked.add(`${c} ${n}`),
        (e: unknown) => tally(failures, describe(e).replace(/\d+/g, 'N').replace(/\/\S+/g, '<path>')),
      );
      pending.add(p);
      void p.finally(() => pending.delete(p));
      // Paced so that sending spans several agent lives.
      await sleep(between(r, gap / 2, (gap * 3) / 2));
    }
  });

  // SIGKILL the agent and start it again, on the seeded schedule, while the clients send.
  let kills = 0;
  const killer = (async () => {
    while (sending) {
      await sleep(between(rand, 200, 700));
      if (!sending) break;
      agent.child.kill('SIGKILL');
      await agent.done;
      kills++;
      await sleep(between(rand, 20, 300));
      agent = await startAgent();
    }
  })();
  await Promise.all(senders);
  sending = false;
  await killer;

  const settled = await waitFor(() => pending.size === 0, 20_000);
  const closing = await within(Promise.all(clients.map((c) => c.close())), 10_000);
  agent.child.kill('SIGTERM');
  await within(agent.done, 5000);
  rmSync(dir, { recursive: true, force: true });

  let lost = 0;
  for (const key of acked) if (!printed.has(key)) lost++;
  let duplicates = 0;
  for (const n of printed.values()) duplicates += n - 1;
  const mem = peak.stop();
  const leaked = await leakedSince(before, 1000);
  crashes.stop();
  const crashCount = crashes.count + agentErrors.length;
  const findings: string[] = [];
  if (sameLifeDuplicates) findings.push(`${sameLifeDuplicates} events published twice by the same agent process (the session dedup should prevent it)`);
  return {
    scenario: 'edge',
    seed,
    quick,
    durationMs: Date.now() - started,
    summary: `edge: ${clientCount} clients sent ${sent} (${acked.size} acked, ${lost} lost, ${duplicates} dup) through ${kills} agent SIGKILLs; crashes ${crashCount}; leaked ${leaked.length}`,
    rows: [
      { part: 'EdgeClients → agent (SIGKILLed)', sent, received: printed.size, duplicates, lost, crashes: crashCount, leakedHandles: leaked.length, peakRssMb: mem.rssMb, peakHeapMb: mem.heapMb },
    ],
    invariants: [
      invariant('every acked event reached an agent', lost === 0, `${lost} of ${acked.size} acked events never printed by an agent`),
      invariant('every send settled (acked or told)', settled, `${pending.size} sends still pending`),
      invariant('clients closed', closing !== 'timeout', closing === 'timeout' ? 'close() did not finish within 10 s' : 'closed'),
      invariant('one agent process publishes an event once', sameLifeDuplicates === 0, `${sameLifeDuplicates} duplicates within one agent process`),
      invariant('no crash', crashCount === 0, [...crashes.errors, ...agentErrors].slice(0, 3).join('; ') || '0'),
      invariant('no handle left after shutdown', leaked.length === 0, leaked.join(', ') || 'none'),
    ],
    figures: {
      'agent SIGKILLs': kills,
      'agent processes': lives,
      'events acked': acked.size,
      'events failed (sender told)': sent - acked.size,
      'client failures': JSON.stringify(failures),
    },
    findings,
  };
}
