/**
 * Child processes of the benches: a script forked with tsx, talked to over
 * IPC, never left behind.
 *
 * - `forkTsx` forks `script`; every child it forked is SIGKILLed when this
 *   process exits (normally, by `process.exit`, or on an uncaught error).
 * - `exitWithParent()` is the other half, in the child: when the parent goes
 *   (even by SIGKILL) the IPC channel closes and the child exits.
 * - `next(key)` waits for the child's first message with `key` in it, and
 *   rejects, saying which child and what it waited for, when the child exits
 *   first or `timeoutMs` passes.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type Message = Record<string, unknown>;

export interface Proc {
  child: ChildProcess;
  /** The first message (from now on) that has `key`; rejects if the child exits first or `timeoutMs` passes. */
  next(key: string, timeoutMs?: number): Promise<Message>;
  send(m: Message): void;
  /** Resolves when the child has exited. */
  exited: Promise<void>;
}

const forked = new Set<ChildProcess>();
let reaping = false;

/** SIGKILL every child still running when this process exits: a failed bench leaves nothing behind. */
function reapOnExit() {
  if (reaping) return;
  reaping = true;
  process.on('exit', () => {
    for (const c of forked) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
}

/** Fork `script` (a path, or a file URL such as `import.meta.url`) under tsx with `args`; stderr and stdout go to ours. */
export function forkTsx(script: string | URL, args: string[], options: { execArgv?: string[] } = {}): Proc {
  reapOnExit();
  const path = typeof script === 'string' && !script.startsWith('file:') ? script : fileURLToPath(script);
  const child = fork(path, args, { execArgv: [...(options.execArgv ?? []), '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  forked.add(child);
  const name = `${path.split('/').slice(-2).join('/')} ${args.join(' ')} (pid ${child.pid})`;
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      forked.delete(child);
      r();
    }),
  );
  const next = (key: string, timeoutMs = Infinity) =>
    new Promise<Message>((resolve, reject) => {
      const done = () => {
        child.off('message', on);
        child.off('exit', onExit);
        clearTimeout(timer);
      };
      const on = (m: Message) => {
        if (m !== null && typeof m === 'object' && key in m) {
          done();
          resolve(m);
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        done();
        reject(new Error(`${name} exited (${code ?? signal}) before sending "${key}"`));
      };
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            done();
            reject(new Error(`${name} sent no "${key}" within ${timeoutMs} ms`));
          }, timeoutMs)
        : undefined;
      child.on('message', on);
      child.once('exit', onExit);
    });
  return { child, next, send: (m) => child.connected && child.send(m), exited };
}

/** In a forked child: exit when the parent is gone (its IPC channel closed). */
export function exitWithParent(code = 0) {
  process.once('disconnect', () => process.exit(code));
}

/** Full GCs, a few (needs --expose-gc; a no-op without). */
export function gc() {
  for (let i = 0; i < 4; i++) (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Run a bench script (`bench/<script>`) in its own process, synchronously,
 * and return its last stdout line parsed as JSON (printed here too). A failed
 * or timed-out run throws with the script's own message (its stderr's tail).
 */
export function runFigure(script: string, args: string[], timeoutMs: number): Record<string, unknown> {
  const file = fileURLToPath(new URL(script, import.meta.url));
  let out: string;
  try {
    out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', file, ...args], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { signal?: string; status?: number; stderr?: string };
    const why = err.signal === 'SIGKILL' ? `killed after ${timeoutMs} ms` : `exit ${err.status ?? err.signal}`;
    const tail = (err.stderr ?? '').trim().split('\n').slice(-5).join('\n');
    throw new Error(`bench/${script} ${args.join(' ')}: ${why}${tail ? `\n${tail}` : ''}`, { cause: e });
  }
  const line = out.trim().split('\n').at(-1)!;
  console.log(line);
  return JSON.parse(line) as Record<string, unknown>;
}
