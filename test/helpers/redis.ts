/**
 * A real redis-server for tests (issue 16): on a free loopback port, nothing
 * written to disk (`--save '' --appendonly no`), stopped by pid. `restart()`
 * kills it and starts a new one on the same port (an empty Redis, as after a
 * crash without persistence).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';

export interface TestRedis {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** The pid of the running server (changes on restart). */
  readonly pid: number;
  /** SIGKILL it (no goodbye to clients), and wait for the exit. */
  kill(): Promise<void>;
  /** Start again on the same port (after `kill`). */
  start(): Promise<void>;
  /** `kill` then `start`. */
  restart(): Promise<void>;
  /** Stop it for good and remove its directory. */
  stop(): Promise<void>;
}

/** Whether `redis-server` is on PATH. */
export function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'statewire-redis-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'notice'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    exited = new Promise<void>((r) => c.once('exit', () => r()));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on ${port} not ready within 10 s: ${out}`)), 10_000);
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      c.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on ${port} exited (${code ?? signal}): ${out}`));
      });
    });
    // Keep reading so a chatty server never blocks on a full pipe.
    c.stdout!.resume();
    c.stderr!.resume();
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? 0;
    },
    kill,
    start,
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
