/**
 * A long task reporting progress to a browser page, through a TaskLogHub.
 *
 *   npm run example:task-logs            # then open the printed URL
 *   npm run example:task-logs -- --port 4401 --steps 20 --interval 300
 *
 * The task starts at once: lines logged before the page connects wait in the
 * hub's queue and appear first, then the live ones. Reload the page, or stop
 * the network for a moment: it resumes after the last line it saw.
 * Ctrl-C (or SIGTERM) shuts it down.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TaskLogHub, type LogLevel } from '../transports/websocket/index.js';

const page = readFileSync(fileURLToPath(new URL('./task-logs.html', import.meta.url)), 'utf8');

export interface TaskLogServer {
  hub: TaskLogHub;
  http: Server;
  /** The page for `taskId`. */
  pageUrl(taskId: string): string;
  close(): Promise<void>;
}

/** The page at `/` (`?task=`) and the hub at `/logs`, on loopback. */
export async function startTaskLogServer(options: { port?: number; host?: string } = {}): Promise<TaskLogServer> {
  const host = options.host ?? '127.0.0.1';
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/' || path.startsWith('/task/')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  const hub = new TaskLogHub();
  hub.attach(http, { path: '/logs' });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, resolve);
  });
  const { port } = http.address() as AddressInfo;
  return {
    hub,
    http,
    pageUrl: (taskId) => `http://${host}:${port}/?task=${encodeURIComponent(taskId)}`,
    async close() {
      await hub.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** The demo task: `steps` lines, one every `intervalMs`, progress up to 100. */
export async function runTask(hub: TaskLogHub, taskId: string, steps: number, intervalMs: number, signal: AbortSignal) {
  const levels: LogLevel[] = ['info', 'debug', 'info', 'warning', 'info'];
  for (let i = 1; i <= steps && !signal.aborted; i++) {
    const progress = Math.round((i / steps) * 100);
    const finished = i === steps;
    const message = finished ? 'done: all records processed' : `processed batch ${i} of ${steps}`;
    await hub.sendLog(taskId, finished ? 'info' : levels[i % levels.length]!, message, { progress, finished });
    if (!finished) await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.PORT ?? '4401' },
      steps: { type: 'string', default: '40' },
      interval: { type: 'string', default: '500' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run example:task-logs -- [--port 4401] [--steps 40] [--interval 500]');
    return;
  }
  const port = Number(values.port);
  const steps = Number(values.steps);
  const interval = Number(values.interval);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`--port must be 0..65535, got ${values.port}`);
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`--steps must be an integer >= 1, got ${values.steps}`);
  if (!(interval >= 0)) throw new RangeError(`--interval must be a number of ms >= 0, got ${values.interval}`);
  const server = await startTaskLogServer({ port });
  const ac = new AbortController();
  const taskId = 'import-2026';
  console.log(`task logs: open ${server.pageUrl(taskId)}  (Ctrl-C to stop)`);
  server.hub.events$.subscribe((e) => console.log(`hub ${e.type} ${JSON.stringify({ ...e, type: undefined })}`));
  const task = runTask(server.hub, taskId, steps, interval, ac.signal).then(() => console.log('task finished'));
  // Ctrl-C, or a service manager's stop (SIGTERM): the same clean shutdown (issue 11, defect 11).
  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      ac.abort();
      await task;
      await server.close();
      console.log('shut down cleanly');
    })();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
