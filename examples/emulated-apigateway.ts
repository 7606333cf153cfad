/**
 * The demo's API Gateway connections, as a real deployment has them, all in
 * this process: the API Gateway emulator (`createApiGatewayEmulator()`),
 * a few "browsers" (real `ws` clients) connected to it, its `$connect` /
 * `$disconnect` / `$default` routes keeping the records in a
 * `MemoryConnectionStore`, and a worker that supervises each connection as
 * a child `apigw-<n>` (`apiGatewayTransport` over one shared SDK client:
 * `GetConnection` on connect, `PostToConnection` per send).
 *
 * A browser that leaves (it closes, or the worker DELETEs it) is seen by its
 * child on the next send: 410, the link ends as gone, the child fails
 * (permanently: API Gateway never gives a connection id back) and is removed
 * a few seconds later; a new browser connects in its place and becomes a new
 * child. A burst of sends runs into the emulator's token bucket (429): the
 * transport retries with backoff.
 *
 * Loopback only: the SDK's endpoint is the emulator, its credentials dummies
 * (static, so the SDK never looks for real ones).
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { WebSocket } from 'ws';
import type { ReconnectPolicy, Supervisor } from '../actors/index.js';
import {
  MemoryConnectionStore,
  RateLimitedError,
  apiGatewayTransport,
  createApiGatewayEmulator,
  type ApiGatewayEmulator,
} from '../transports/apigateway/index.js';

/** The visualizer's label of every `apigw-*` child. */
export const API_GATEWAY_LABEL = 'API Gateway (emulator)';
/** Child ids: `apigw-<n>`, n the browser's number. */
export const CHILD_PREFIX = 'apigw-';

export interface ApiGatewayDemoOptions {
  supervisor: Supervisor;
  /** The children's reconnect policy (`maxPermanentFailures` is set to 1: a 410 fails at once). */
  policy: Partial<ReconnectPolicy>;
  /** Browsers connected at a time. Default 3. */
  browsers?: number;
  /** The emulator's token bucket: small, so that a burst meets 429. Default `{ rps: 20, burst: 10 }`. */
  rateLimit?: { rps: number; burst: number };
  /** A browser that left is replaced after this long, ms. Default 2000. */
  replaceAfterMs?: number;
  /** A failed (gone) child is removed after this long, ms, so the visualizer shows it failed for a while. Default 3000. */
  removeAfterMs?: number;
  /** Where what happens is told (browsers leaving, children removed, a burst's outcome). */
  log: (line: string) => void;
}

export interface ApiGatewayDemo {
  readonly emulator: ApiGatewayEmulator;
  readonly store: MemoryConnectionStore;
  /** Messages the browsers received, in all. */
  readonly received: number;
  /** Send `message` to every `apigw-*` child that is connected (a volatile send: refused at once when down). */
  sendToAll(message: unknown): void;
  /** Fault: a browser closes its socket (its tab closed). Returns what it did. */
  closeBrowser(): string;
  /** Fault: the worker DELETEs a connection (`DeleteConnection`: a server-side disconnect). */
  deleteConnection(): Promise<string>;
  /** Fault: `perChild` messages to every connected child at once, past the token bucket; logs the outcome. */
  burst(perChild: number): void;
  /** No more browsers or children from now on (call before the supervisor's shutdown, which closes the children's links). */
  stop(): void;
  /** The browsers closed, the emulator closed, the SDK client destroyed (after the supervisor's shutdown). */
  close(): Promise<void>;
}

interface Browser {
  n: number;
  ws: WebSocket;
  received: number;
  ping?: NodeJS.Timeout;
}

export async function startApiGatewayDemo(o: ApiGatewayDemoOptions): Promise<ApiGatewayDemo> {
  const { supervisor, log } = o;
  const target = o.browsers ?? 3;
  const replaceAfterMs = o.replaceAfterMs ?? 2000;
  const removeAfterMs = o.removeAfterMs ?? 3000;
  const store = new MemoryConnectionStore();
  const browsers = new Set<Browser>();
  const timers = new Set<NodeJS.Timeout>();
  /** child id → API Gateway connection id. */
  const children = new Map<string, string>();
  let seq = 0;
  let received = 0;
  let stopped = false;
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => (timers.delete(timer), fn()), ms);
    timers.add(timer);
  };

  // The routes a deployment's Lambdas serve: the connection records.
  const emulator = await createApiGatewayEmulator({
    rateLimit: o.rateLimit ?? { rps: 20, burst: 10 },
    onConnect: async ({ connectionId, query }) => {
      const n = Number(query.browser) || ++seq; // a client of the demo's own, or one from outside (wscat)
      await store.put({ connectionId, connectedAt: Date.now(), lastPingAt: Date.now(), tags: ['demo'], data: { n } });
    },
    onDisconnect: async ({ connectionId }) => void (await store.delete(connectionId)),
    onMessage: ({ connectionId }) => store.updateLastPing(connectionId),
  });

  // One SDK client for every child (its own retries off: the transport retries 429 itself),
  // counting the 429s it meets so that a burst can tell.
  const client = new ApiGatewayManagementApiClient({
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
    maxAttempts: 1,
  });
  let throttled = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if ((err as { name?: unknown }).name === 'LimitExceededException') throttled++;
        throw err;
      }
    },
    { step: 'initialize', name: 'demoCountThrottles' },
  );

  // The worker: every connection becomes a supervised child.
  emulator.on('connect', ({ connectionId }) => {
    if (stopped) return;
    void store.get(connectionId).then((record) => {
      const id = `${CHILD_PREFIX}${Number(record?.data?.n) || ++seq}`;
      if (stopped || !record || supervisor.child(id)) return;
      children.set(id, connectionId);
      try {
        supervisor.startChild({
          id,
          transport: apiGatewayTransport({ connectionId, client, retry: { attempts: 6, initialDelayMs: 50, maxDelayMs: 1000 } }),
          restart: 'transient',
          policy: { ...o.policy, maxPermanentFailures: 1 },
        });
      } catch (err) {
        children.delete(id);
        log(`${id}: not started (${(err as Error).message})`);
      }
    });
  });

  // A child that failed (its connection gone: 410) is removed after a while, with its record.
  const failures = supervisor.events$.subscribe((e) => {
    if (e.type !== 'EVENT_STATE_CHANGE' || e.data.to !== 'failed' || !children.has(e.connectionId)) return;
    const id = e.connectionId;
    later(removeAfterMs, () => {
      const connectionId = children.get(id)!;
      children.delete(id);
      void supervisor.stopChild(id).catch(() => {});
      void store.delete(connectionId).then((deleted) =>
        log(`${id}: gone (410), removed; its record ${deleted ? 'deleted' : 'was already deleted by $disconnect'}`),
      );
    });
  });

  const open = () => {
    const n = ++seq;
    const b: Browser = { n, ws: new WebSocket(`${emulator.url}?browser=${n}`), received: 0 };
    browsers.add(b);
    b.ws.on('error', () => {}); // 'close' follows
    b.ws.on('message', () => {
      b.received++;
      received++;
    });
    b.ws.on('open', () => {
      // What keeps a real client's connection from the 10-minute idle timeout ($default updates lastPingAt).
      b.ping = setInterval(() => b.ws.send(JSON.stringify({ action: 'ping' })), 60_000);
    });
    b.ws.on('close', (code) => {
      clearInterval(b.ping);
      browsers.delete(b);
      if (stopped) return;
      log(`browser ${b.n} left (close ${code}) after ${b.received} messages; a new browser in ${replaceAfterMs} ms`);
      later(replaceAfterMs, () => stopped || open());
    });
  };
  for (let i = 0; i < target; i++) open();

  const stop = () => {
    stopped = true;
    failures.unsubscribe();
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  };
  const connected = () => supervisor.whichChildren().filter((c) => children.has(c.id) && c.state === 'connected').map((c) => c.id);

  return {
    emulator,
    store,
    get received() {
      return received;
    },
    sendToAll(message) {
      const text = JSON.stringify(message);
      for (const id of connected()) void supervisor.send(id, text, { volatile: true }).catch(() => {});
    },
    closeBrowser() {
      const open = [...browsers].filter((b) => b.ws.readyState === WebSocket.OPEN);
      const b = open[Math.floor(Math.random() * open.length)];
      if (!b) return 'no browser open';
      b.ws.close(1000, 'tab closed');
      return `browser ${b.n} closes its tab`;
    },
    async deleteConnection() {
      const live = [...children].filter(([id]) => connected().includes(id));
      const [id, connectionId] = live[Math.floor(Math.random() * live.length)] ?? [];
      if (!id || !connectionId) return 'no connection to delete';
      try {
        await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
        return `DeleteConnection ${connectionId} (${id}): its browser is disconnected by the server`;
      } catch (err) {
        return `DeleteConnection ${connectionId} (${id}) failed: ${(err as Error).name}`;
      }
    },
    burst(perChild) {
      const ids = connected();
      const before = throttled;
      const sends = ids.flatMap((id) => Array.from({ length: perChild }, (_, i) => supervisor.send(id, JSON.stringify({ type: 'burst', i }), { volatile: true })));
      void Promise.allSettled(sends).then((results) => {
        const ok = results.filter((r) => r.status === 'fulfilled').length;
        const limited = results.filter((r) => r.status === 'rejected' && r.reason instanceof RateLimitedError).length;
        const other = results.length - ok - limited;
        log(`burst: ${results.length} messages to ${ids.length} connections, ${throttled - before} answers 429 (retried with backoff): ` +
          `${ok} delivered, ${limited} still throttled after 6 tries${other ? `, ${other} failed otherwise` : ''}`);
      });
    },
    stop,
    async close() {
      stop();
      await Promise.all(
        [...browsers].map((b) => new Promise<void>((resolve) => {
          if (b.ws.readyState === WebSocket.CLOSED) return resolve();
          b.ws.once('close', () => resolve());
          b.ws.close(1001, 'demo stopping');
        })),
      );
      await emulator.close(); // cuts off what did not answer the close in time
      client.destroy(); // its keep-alive sockets
    },
  };
}
