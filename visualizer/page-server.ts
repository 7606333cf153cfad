/**
 * The HTTP side every visualizer page needs, live (`serveVisualizer`) or
 * replayed (`serveReplay`): the files of `public/` (any `.html`, `.js`,
 * `.css` there, by name), uPlot's dist files from node_modules under
 * `/vendor/` (no CDN), JSON routes, and the `/events` WebSocket behind the
 * origin check and `maxPayload` (issue 11).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { jsonText } from '../actors/fleet-records.js';
import { ListenError } from '../machines/ports/errors.js';
import { originAllowed } from '../transports/websocket/origin.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

const here = new URL('./public/', import.meta.url);

/** `public/`'s files by route, read once: `/` is index.html. */
function pageFiles(): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(here)) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (type) files.set(`/${name}`, { body: readFileSync(new URL(name, here)), type });
  }
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  // uPlot (a dependency, pinned): its ES module and stylesheet, served as they are.
  try {
    const dist = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
    files.set('/vendor/uPlot.esm.js', { body: readFileSync(join(dist, 'uPlot.esm.js')), type: TYPES['.js']! });
    files.set('/vendor/uPlot.min.css', { body: readFileSync(join(dist, 'uPlot.min.css')), type: TYPES['.css']! });
  } catch {
    // Not installed: the page says the chart is missing; everything else works.
  }
  return files;
}

/** Bytes a page may leave unread (`ws.bufferedAmount`) before it gets no more messages until it catches up. */
export const PAGE_BUFFER_LIMIT = 4 * 1024 * 1024;

/**
 * What goes to one page. A page that stops reading (a frozen tab, a client
 * that never reads) would otherwise hold every batch in this process: past
 * `PAGE_BUFFER_LIMIT` unread bytes it gets nothing more, and once it has read
 * down below the limit (checked every `everyMs`) it is sent `picture()`,
 * the whole picture as of now, in place of what it missed.
 */
export class PageOutlet {
  #timer: ReturnType<typeof setInterval> | undefined;
  constructor(
    readonly ws: WebSocket,
    private readonly picture: () => unknown,
    private readonly everyMs: number,
  ) {}

  /** Behind: messages are skipped until `picture()` replaces them. */
  get behind(): boolean {
    return this.#timer !== undefined;
  }

  send(message: unknown): void {
    this.sendText(typeof message === 'string' ? message : jsonText(message));
  }

  sendText(text: string): void {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN || this.#timer !== undefined) return;
    if (ws.bufferedAmount > PAGE_BUFFER_LIMIT) {
      this.#timer = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return this.close();
        if (ws.bufferedAmount > PAGE_BUFFER_LIMIT) return;
        this.close();
        this.send(this.picture());
      }, this.everyMs);
      return;
    }
    ws.send(text);
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

export interface PageServerOptions {
  port: number;
  host: string;
  allowedOrigins: readonly string[];
  maxPayload: number;
  /** Extra routes answered with JSON (`/graph.json`), when the value (or its promise) is there. */
  json?: Record<string, () => unknown>;
  onConnection(ws: WebSocket): void;
}

export interface PageServer {
  readonly url: string;
  readonly port: number;
  readonly wss: WebSocketServer;
  close(): Promise<void>;
}

/** Listen; a failed listen is a `ListenError` (nothing is left open). */
export async function startPageServer(options: PageServerOptions): Promise<PageServer> {
  const content = pageFiles();
  const json = options.json ?? {};
  const http: Server = createServer((req, res) => {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      // A request target URL cannot read (`GET http://x:99999/`): the peer's mistake, never a crash.
      res.writeHead(400, { 'content-type': 'text/plain' });
      return res.end('bad request target');
    }
    if (Object.hasOwn(json, path)) {
      void Promise.resolve(json[path]!()).then((value) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      });
      return;
    }
    const file = content.get(path);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' });
    res.end(file.body);
  });
  const wss = new WebSocketServer({
    server: http,
    path: '/events',
    maxPayload: options.maxPayload,
    // Another site's page must not read the events or press the buttons (issue 11, defect 6).
    verifyClient: ({ req }: { req: IncomingMessage }, done: (ok: boolean, status?: number, reason?: string) => void) =>
      done(originAllowed(req, options.allowedOrigins), 403, 'origin not allowed'),
  });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    options.onConnection(ws);
  });
  // ws re-emits the http server's errors: without this, a failed listen would also be an uncaught 'error'.
  wss.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, options.host, () => resolve());
    });
  } catch (error) {
    wss.close();
    throw new ListenError(`${options.host}:${options.port}`, { cause: error });
  }
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://${options.host}:${port}/`,
    port,
    wss,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
