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

export async function rawUnixServer(path: string): Promise<RawPeer> {
  const sockets: Socket[] = [];
  const waiting: Array<(s: Socket) => void> = [];
  const queued: Socket[] = [];
  const server = createServer((s) => {
    s.on('error', () => {});
    sockets.push(s);
    const w = waiting.shift();
    if (w) w(s);
    else queued.push(s);
  });
  await new Promise<void>((r) => server.listen(path, r));
  return {
    server,
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
