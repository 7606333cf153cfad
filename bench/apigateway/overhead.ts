/**
 * `overhead.ts <n> <runs>`: what the manager adds per request, without the
 * SDK's cost: `broadcast` of n ids vs the anchor's loop (50 workers, a
 * `PostToConnectionCommand` each) over a client whose `send` answers at
 * once. Alternating in one process; the median of `runs` of each. Prints one
 * JSON line (µs per request).
 */
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { ApiGatewayManager } from '../../transports/apigateway/manager/manager.js';
import { MemoryConnectionStore } from '../../transports/apigateway/store/memory.js';

const [nArg, runsArg] = process.argv.slice(2);
const n = Number(nArg ?? 200_000);
const runs = Number(runsArg ?? 7);
const client = { send: async (_command: PostToConnectionCommand): Promise<unknown> => ({}) };
const ids = Array.from({ length: n }, (_, i) => `id${i}`);
const message = { type: 'news', seq: 1, text: 'x'.repeat(150) };
// The default rate cap would hold 200,000 instant requests to 10,000/s: measured here is the code, not the cap.
const manager = new ApiGatewayManager({ client, store: new MemoryConnectionStore(), maxRequestsPerSecond: Infinity });

async function anchor(): Promise<number> {
  const body = Buffer.from(JSON.stringify(message));
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const connectionId = ids[next++]!;
      try {
        await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: body }));
      } catch (error) {
        errors.push({ connectionId, error });
      }
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  return errors.length;
}

const us = { manager: [] as number[], sdk: [] as number[] };
for (let r = 0; r < runs; r++) {
  let t = performance.now();
  await manager.broadcast(ids, message, { concurrency: 50 });
  us.manager.push(((performance.now() - t) * 1000) / n);
  t = performance.now();
  await anchor();
  us.sdk.push(((performance.now() - t) * 1000) / n);
}
await manager.shutdown();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r2 = (x: number) => Math.round(x * 100) / 100;
console.log(JSON.stringify({ figure: 'apigateway-overhead', n, usManager: r2(median(us.manager)), usAnchor: r2(median(us.sdk)), usAdded: r2(median(us.manager) - median(us.sdk)) }));
