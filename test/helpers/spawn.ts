/** Child processes for tests: spawned with a line reader, killed by pid when done. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  lines: string[];
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the first line matching `re` (already seen or later). */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  /** The exit code, or null when a signal ended it (see `ended`). */
  exited: Promise<number | null>;
  /** The exit code, or the name of the signal that ended it, as a string. */
  ended: Promise<string>;
  /** Send `signal` (to the whole process group when spawned `detached`) and wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnLines(cmd: string, args: string[], options: { cwd?: string; stdin?: boolean; detached?: boolean; env?: NodeJS.ProcessEnv } = {}): Spawned {
  const child = spawn(cmd, args, { cwd: options.cwd ?? root, ...(options.env ? { env: options.env } : {}), stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: options.detached === true });
  const lines: string[] = [];
  let partial = '';
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const ended = new Promise<string>((r) => child.on('exit', (code, signal) => r(code === null ? String(signal) : String(code))));
  const exited = ended.then(() => child.exitCode);
  return {
    child,
    lines,
    stdout: () => out,
    stderr: () => err,
    exited,
    ended,
    waitFor(re, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find((l) => re.test(l));
          if (hit !== undefined) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no line matching ${re} within ${ms} ms; stdout: ${lines.join(' | ')}; stderr: ${err}`));
        }, ms);
        listeners.add(check);
        check();
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) process.kill(options.detached ? -child.pid! : child.pid!, signal);
      return exited;
    },
  };
}

export const tsxArgs = (script: string, ...args: string[]) => ['--import', 'tsx', script, ...args];
