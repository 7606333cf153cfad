/**
 * Part of the API fuzzer (bench/chaos/fuzz-api.ts): delays the library
 * computes, at the bounds of what it accepts. Node runs a timer past
 * 2^31-1 ms after 1 ms (TimeoutOverflowWarning), so every timer it sets must
 * stay within `MAX_TIMER_MS`, or the option that would lead past it must be a
 * RangeError. Probed on the real clock (the warning is raised when the timer is
 * set; a SimulatedClock would wait the full delay and show nothing):
 *
 * - `createSupervisor({ restartBackoff })` with durations past 2^31-1 ms:
 *   refused, or else a crashing child's restart timer overflows;
 * - a child whose `policy` is at the bounds (`initialBackoffMs` and
 *   `maxBackoffMs` at 2^31-1, `jitter` 1, `random` () => 1): relative jitter
 *   applies after the cap, so its reconnect delay must still be capped.
 */
import { connectionMachine, createSupervisor, silentLogger, type Supervisor } from '../../actors/index.js';
import { mockTransport } from '../../transports/mock/index.js';
import { describe } from './lib.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TimerFinding {
  target: string;
  path: string;
  value: string;
  what: string;
}

const crasher = connectionMachine.provide({
  actions: {
    flushOutbox: () => {
      throw new Error('chaos: crash on start');
    },
  },
});

/** Run `body` and collect the process warnings it caused (they arrive on later turns). */
async function warningsOf(body: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (w: Error) => seen.push(`${w.name}: ${w.message.split('\n')[0]}`);
  process.on('warning', onWarning);
  try {
    await body();
    await new Promise((r) => setTimeout(r, 5));
  } finally {
    process.off('warning', onWarning);
  }
  return [...new Set(seen)];
}

/** Let a child connect, crash or fail, and its next timer be set. Not a timing assertion: nothing is measured. */
const turns = () => new Promise((r) => setTimeout(r, 20));

/** Every probe; what went wrong in each (empty: all held). Closes what it opened. */
export async function timerBounds(): Promise<{ calls: number; findings: TimerFinding[]; outcomes: string[] }> {
  const findings: TimerFinding[] = [];
  const outcomes: string[] = [];
  let calls = 0;

  // Restart backoff past 2^31-1 ms (both: the cap would otherwise keep the delay within it).
  calls++;
  {
    const restartBackoff = { initialBackoffMs: 2 ** 31, maxBackoffMs: 2 ** 31, jitter: 0 };
    let sup: Supervisor | undefined;
    let threw: unknown;
    const warnings = await warningsOf(async () => {
      try {
        sup = createSupervisor({ id: 'timer-probe', restartBackoff, logger: silentLogger });
      } catch (e) {
        threw = e;
        return;
      }
      sup.startChild({ id: 'crasher', transport: mockTransport(), machine: crasher });
      await turns();
    });
    const restarts = sup?.whichChildren()[0]?.restarts ?? 0;
    await sup?.shutdown();
    outcomes.push(threw instanceof RangeError ? 'RangeError' : threw ? 'other' : 'returned');
    if (threw && !(threw instanceof RangeError)) findings.push({ target: 'createSupervisor', path: 'restartBackoff', value: '{ initialBackoffMs: 2^31, maxBackoffMs: 2^31 }', what: `threw ${describe(threw)} (not a RangeError)` });
    else if (!threw && warnings.length) {
      findings.push({
        target: 'createSupervisor',
        path: 'restartBackoff',
        value: '{ initialBackoffMs: 2^31, maxBackoffMs: 2^31, jitter: 0 }',
        what: `accepted; a crash-on-start child was restarted ${restarts} times at once (${warnings.join('; ')})`,
      });
    }
  }

  // A policy at its bounds, with relative jitter pushing the delay past the cap.
  calls++;
  {
    const sup = createSupervisor({ id: 'timer-probe', logger: silentLogger });
    const mock = mockTransport();
    mock.failNextConnects(3);
    let threw: unknown;
    const warnings = await warningsOf(async () => {
      try {
        sup.startChild({ id: 'c', transport: mock, policy: { initialBackoffMs: MAX_TIMER_MS, maxBackoffMs: MAX_TIMER_MS, jitter: 1 }, random: () => 1 });
      } catch (e) {
        threw = e;
        return;
      }
      await turns();
    });
    const connects = mock.connects;
    await sup.shutdown();
    outcomes.push(threw instanceof RangeError ? 'RangeError' : threw ? 'other' : 'returned');
    if (threw && !(threw instanceof RangeError)) findings.push({ target: 'startChild', path: 'policy', value: 'at the bounds, jitter 1', what: `threw ${describe(threw)}` });
    else if (!threw && warnings.length) {
      findings.push({
        target: 'startChild',
        path: 'policy',
        value: `{ initialBackoffMs: ${MAX_TIMER_MS}, maxBackoffMs: ${MAX_TIMER_MS}, jitter: 1 }, random () => 1`,
        what: `accepted; its reconnect delay went past 2^31-1 ms, so it reconnected at once (${connects} connects; ${warnings.join('; ')})`,
      });
    }
  }
  return { calls, findings, outcomes };
}
