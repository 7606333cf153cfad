/**
 * The smallest example: a supervisor with two simulated connections and a
 * fault every few seconds, printing every structured event. Ctrl-C (or
 * SIGTERM) shuts it down cleanly. (`npm start` runs the full demo, examples/demo.ts.)
 *
 *   node --import tsx examples/basic.ts                 # runs until Ctrl-C
 *   node --import tsx examples/basic.ts --faults-every 500
 */
import { parseArgs } from 'node:util';
import { createSupervisor } from '../actors/index.js';
import { mockTransport } from '../transports/mock/index.js';

const { values } = parseArgs({
  options: {
    'faults-every': { type: 'string', default: '3000' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: node --import tsx examples/basic.ts [--faults-every <ms>]\n\nA supervisor with two simulated (mock) connections; a fault every few seconds.');
  process.exit(0);
}
const every = Number(values['faults-every']);
if (!(every > 0)) throw new RangeError(`--faults-every must be a number of ms > 0, got ${values['faults-every']}`);

const supervisor = createSupervisor({ id: 'demo', maxRestarts: 10, periodMs: 10_000 });
const radio = mockTransport({ kind: 'mock' });
const agent = mockTransport({ kind: 'mock' });
supervisor.events$.subscribe((e) => {
  const data = Object.keys(e.data).length ? ` ${JSON.stringify(e.data)}` : '';
  console.log(`${new Date(e.timestamp).toISOString()} ${e.connectionId.padEnd(6)} ${e.type.padEnd(26)} ${e.state}${data}`);
});
supervisor.startChild({ id: 'radio', transport: radio, policy: { stableAfterMs: 2000 } });
supervisor.startChild({ id: 'agent', transport: agent, policy: { stableAfterMs: 2000 } });
console.log('statewire demo: two simulated connections (mock transports); Ctrl-C to stop');

// A different fault each time: a dropped link, refused connects, a TX drop.
const faults = [
  () => radio.drop('simulated link loss'),
  () => { agent.failNextConnects(3); agent.drop('simulated outage'); },
  () => supervisor.child('radio')?.send({ type: 'TX_DROP' }),
];
let n = 0;
const timer = setInterval(() => faults[n++ % faults.length]!(), every);

// Ctrl-C, or a service manager's stop (SIGTERM): the same clean shutdown (issue 11, defect 11).
let stopping: Promise<void> | undefined;
const shutdown = () => {
  stopping ??= (async () => {
    clearInterval(timer);
    await supervisor.shutdown({ timeoutMs: 5000 });
    console.log('shut down cleanly');
  })();
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
