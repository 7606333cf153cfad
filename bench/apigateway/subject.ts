/**
 * One subject of the API Gateway broadcast bench, in its own process:
 *   subject.ts manager <endpoint> <idsFile> <runs>   `ApiGatewayManager.broadcast(ids, message, { concurrency: 50 })`
 *   subject.ts sdk <endpoint> <idsFile> <runs>       the anchor: 50 workers pulling ids, each `await client.send(new PostToConnectionCommand(...))`
 * Both use the same SDK client configuration (`maxAttempts: 1`, dummy
 * credentials), encode the message once per broadcast and collect every
 * failure. A warm-up broadcast to the first 2,000 ids, then `runs` timed
 * broadcasts to every id; prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { BroadcastError } from '../../transports/apigateway/manager/errors.js';
import { ApiGatewayManager } from '../../transports/apigateway/manager/manager.js';
import { MemoryConnectionStore } from '../../transports/apigateway/store/memory.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const [subject, endpoint, idsFile, runsArg] = process.argv.slice(2) as ['manager' | 'sdk', string, string, string];
if ((subject !== 'manager' && subject !== 'sdk') || !endpoint || !idsFile) throw new TypeError('usage: subject.ts <manager|sdk> <endpoint> <idsFile> <runs>');
const ids = JSON.parse(readFileSync(idsFile, 'utf8')) as string[];
const runs = Number(runsArg ?? 3);
const CONCURRENCY = 50;
const config = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, maxAttempts: 1 };
const message = { type: 'news', seq: 1, text: 'x'.repeat(150) };

/** One broadcast to `list`: how many failed. */
let broadcast: (list: readonly string[]) => Promise<number>;
let close: () => Promise<void>;

if (subject === 'manager') {
  const manager = new ApiGatewayManager({ endpoint, region: config.region, clientConfig: { credentials: config.credentials }, store: new MemoryConnectionStore() });
  broadcast = async (list) => {
    try {
      await manager.broadcast(list, message, { concurrency: CONCURRENCY });
      return 0;
    } catch (err) {
      if (err instanceof BroadcastError) return err.failed;
      throw err;
    }
  };
  close = () => manager.shutdown();
} else {
  const client = new ApiGatewayManagementApiClient(config);
  broadcast = async (list) => {
    const body = Buffer.from(JSON.stringify(message));
    const errors: Array<{ connectionId: string; error: unknown }> = [];
    let next = 0;
    const worker = async () => {
      while (next < list.length) {
        const connectionId = list[next++]!;
        try {
          await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: body }));
        } catch (error) {
          errors.push({ connectionId, error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, list.length) }, worker));
    return errors.length;
  };
  close = async () => client.destroy();
}

let failed = await broadcast(ids.slice(0, 2000));
const ms: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  failed += await broadcast(ids);
  ms.push(performance.now() - t0);
}
await close();
const perSecond = ms.map((m) => Math.round((ids.length / m) * 1000));
const sorted = [...perSecond].sort((a, b) => a - b);
console.log(JSON.stringify({ figure: 'apigateway-broadcast', subject, ids: ids.length, perSecond: sorted[Math.floor(sorted.length / 2)], runs: perSecond, failed }));
