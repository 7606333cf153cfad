/** SENDs per second through one connected connection to the mock link. `send.ts <statewire|bare|supervisor> <n>` */
import { createActor } from 'xstate';
import { createSupervisor } from '../actors/supervisor.js';
import { connectionMachine } from '../machines/connection.machine.js';
import { mockTransport } from '../transports/mock/mock.transport.js';
import { bareMachine } from './bare.js';

const [mode = 'statewire', nArg = '200000'] = process.argv.slice(2);
const n = Number(nArg);
const transport = mockTransport();
const tick = () => new Promise((r) => setImmediate(r));
const payload = 'x'.repeat(64);

async function run(send: (i: number) => unknown) {
  // warm-up, then the measured run; the mock keeps what it was sent, so clear it between
  for (let i = 0; i < 10_000; i++) send(i);
  await tick();
  transport.written.length = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) send(i);
  await tick();
  const s = (performance.now() - t0) / 1000;
  if (transport.written.length !== n) throw new Error(`${transport.written.length} of ${n} written`);
  return n / s;
}

let perSecond: number;
if (mode === 'bare') {
  const a = createActor(bareMachine, { input: { transport } }).start();
  await tick();
  perSecond = await run(() => a.send({ type: 'SEND', data: payload }));
  a.stop();
} else if (mode === 'statewire') {
  const a = createActor(connectionMachine, { input: { id: 'b', transport, autoConnect: true } }).start();
  await tick();
  perSecond = await run(() => a.send({ type: 'SEND', data: payload }));
  a.stop();
} else {
  const sup = createSupervisor();
  sup.startChild({ id: 'b', transport });
  await tick();
  let last: Promise<void> = Promise.resolve();
  perSecond = await run(() => (last = sup.send('b', payload)));
  await last;
  await sup.shutdown();
}
console.log(JSON.stringify({ figure: 'sends_per_second', subject: mode, n, perSecond: Math.round(perSecond) }));
