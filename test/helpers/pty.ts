/** A pty pair made by socat, for serial-port tests: two paths, the socat process killed by pid. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tempDir } from './unix.js';
import { until } from './net.js';

export interface PtyPair {
  /** The end the code under test opens. */
  a: string;
  /** The peer's end. */
  b: string;
  /** A path in the pair's temp dir (for files that are not ports). */
  path(name: string): string;
  socat: ChildProcess;
  /** Kill socat (both ends hang up) and wait for it to exit. Idempotent. */
  kill(): Promise<void>;
  /** `kill()`, then remove the temp dir. */
  close(): Promise<void>;
}

export async function ptyPair(): Promise<PtyPair> {
  const tmp = tempDir();
  const a = tmp.path('A');
  const b = tmp.path('B');
  const socat = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => socat.once('exit', () => r()));
  const kill = async () => {
    if (socat.exitCode === null && socat.signalCode === null) {
      process.kill(socat.pid!, 'SIGTERM');
      await exited;
    }
  };
  try {
    await until(() => existsSync(a) && existsSync(b), 'socat to make the pty pair');
  } catch (err) {
    await kill();
    tmp.remove();
    throw err;
  }
  return {
    a,
    b,
    path: tmp.path,
    socat,
    kill,
    async close() {
      await kill();
      tmp.remove();
    },
  };
}
