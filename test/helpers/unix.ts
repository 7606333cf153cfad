/** Temp dirs for UNIX sockets, and a raw `net` peer listening on one. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { spawnLines, tsxArgs, type Spawned } from './spawn.js';
import { join } from 'node:path';

/** A fresh temp dir (short path: socket paths are limited to 107 bytes). */
export function tempDir(): { dir: string; path(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sw-'));
  return { dir, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RawPeer {
  server: Server;
  sockets: Socket[];
  /** The next accepted socket. */
  next(): Promise<Socket>;
  close(): Promise<void>;
}

/**
 * The sockets `server` accepts (on `event`), handed out in order by `next()`,
 * and `close()` that destroys them and closes the server. Shared by the raw
 * UNIX peer here and the TCP/TLS test servers (tls.ts).
 */
export function handOut<S extends Socket>(
  server: { on(event: string, listener: (s: S) => void): unknown; close(cb: () => void): unknown },
  event: 'connection' | 'secureConnection' = 'connection',
): { sockets: S[]; next(): Promise<S>; close(): Promise<void> } {
  const sockets: S[] = [];
  const queued: S[] = [];
  const waiting: Array<(s: S) => void> = [];
  server.on(event, (s: S) => {
    s.on('error', () => {});
    sockets.push(s);
    const w = waiting.shift();
    if (w) w(s);
    else queued.push(s);
  });
  return {
    sockets,
    next: () => {
      const s = queued.shift();
      return s ? Promise.resolve(s) : new Promise((r) => waiting.push(r));
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export async function rawUnixServer(path: string): Promise<RawPeer> {
  const server = createServer();
  const peer = handOut<Socket>(server);
  await new Promise<void>((r) => server.listen(path, r));
  return { server, ...peer };
}

/** An EdgeAgentServer in its own process (test/fixtures/edge-agent.ts), once it listens on `path`. */
export async function agentProcess(path: string): Promise<Spawned> {
  const agent = spawnLines(process.execPath, tsxArgs('test/fixtures/edge-agent.ts', path));
  await agent.waitFor(/listening/);
  return agent;
}

/** Leave a stale socket file at `path`: its server process is killed and cannot remove it. */
export async function staleSocket(path: string): Promise<void> {
  await (await agentProcess(path)).kill('SIGKILL');
}
