/**
 * One server under fuzz, in a process of its own so a crash is seen (and
 * counted) instead of taking the fuzzer down: `fuzz-target.ts <agent|hub|viz> <dir>`.
 *
 * Prints `ready <json>` (`{ path }` or `{ port }`) once it serves. Over IPC it
 * answers `{ type: 'mem' }` with its heap after GC and its peaks, whether
 * `Object.prototype` was touched, and (hub) `{ type: 'log', task }` with the
 * result of a `sendLog` to that task: the hub still serves.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createSupervisor } from '../../actors/index.js';
import { mockTransport } from '../../transports/mock/index.js';
import { EdgeAgentServer } from '../../transports/unix/index.js';
import { serveVisualizer } from '../../visualizer/index.js';
import { TaskLogHub } from '../../transports/websocket/index.js';

const [kind = '', dir = ''] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
const peak = { rss: 0, heap: 0 };
const sample = () => {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heap = Math.max(peak.heap, m.heapUsed);
};
setInterval(sample, 20).unref();
const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).length;
const protoBaseline = protoKeys();

let hub: TaskLogHub | undefined;
let ready: Record<string, unknown>;
if (kind === 'agent') {
  const path = join(dir, 'agent.sock');
  const agent = new EdgeAgentServer({ path });
  agent.events$.subscribe(() => {});
  await agent.listen();
  ready = { path };
} else if (kind === 'hub') {
  const http = createServer((_req, res) => res.writeHead(404).end());
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  hub = new TaskLogHub({ pingIntervalMs: 0 });
  hub.attach(http, { path: '/logs' });
  ready = { port: (http.address() as AddressInfo).port };
} else if (kind === 'viz') {
  const sup = createSupervisor({ id: 'fuzzed' });
  sup.startChild({ id: 'a', transport: mockTransport() });
  sup.startChild({ id: 'b', transport: mockTransport() });
  const viz = await serveVisualizer(sup, { port: 0 });
  ready = { port: viz.port };
} else {
  throw new TypeError(`unknown target "${kind}"`);
}

process.on('message', (msg: { type: string; task?: string; n?: number }) => {
  if (msg.type === 'mem') {
    sample();
    for (let i = 0; i < 3; i++) gc?.();
    const m = process.memoryUsage();
    process.send!({ type: 'mem', heap: m.heapUsed, rss: m.rss, peakRss: peak.rss, peakHeap: peak.heap, polluted: protoKeys() !== protoBaseline || ({} as Record<string, unknown>).polluted !== undefined });
  } else if (msg.type === 'log' && hub) {
    hub.sendLog(msg.task!, 'info', `probe ${msg.n}`).then(
      (result) => process.send!({ type: 'log', result }),
      (e: Error) => process.send!({ type: 'log', result: `rejected: ${e.name}` }),
    );
  }
});
// The parent going away ends us too (no orphan servers).
process.on('disconnect', () => process.exit(0));
process.stdout.write(`ready ${JSON.stringify(ready)}\n`);
