/**
 * Real peers on loopback for transport tests: a `ws` server on port 0, a TCP
 * server that accepts and never answers, and a port nobody listens on.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket, type ServerOptions } from 'ws';

export interface TestWsServer {
  wss: WebSocketServer;
  port: number;
  url: string;
  /** The next socket the server accepts (or one already accepted and not yet taken). */
  nextSocket(): Promise<WebSocket>;
  close(): Promise<void>;
}

export async function startWsServer(options: ServerOptions = {}, port = 0): Promise<TestWsServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, ...options });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const accepted: WebSocket[] = [];
  const waiting: Array<(ws: WebSocket) => void> = [];
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    const w = waiting.shift();
    if (w) w(ws);
    else accepted.push(ws);
  });
  const actual = (wss.address() as AddressInfo).port;
  return {
    wss,
    port: actual,
    url: `ws://127.0.0.1:${actual}`,
    nextSocket: () => {
      const ws = accepted.shift();
      return ws ? Promise.resolve(ws) : new Promise((r) => waiting.push(r));
    },
    close: () => closeWss(wss),
  };
}

/** Close a ws server and terminate its clients. */
export function closeWss(wss: WebSocketServer): Promise<void> {
  for (const c of wss.clients) c.terminate();
  return new Promise<void>((resolve) => wss.close(() => resolve()));
}

/** A TCP server that accepts connections and never says a word. */
export async function startSilentServer(): Promise<{ port: number; sockets: Socket[]; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.resume(); // read and discard, so the peer's close is seen
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nobody listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` every few ms until it is truthy or `ms` passed (then throw with `what`). */
export async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
