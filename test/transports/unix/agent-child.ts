/**
 * An EdgeAgentServer in a child process (test/fixtures/edge-agent.ts), run
 * with --expose-gc so a test can read its heap after a full GC, and drive
 * its SimulatedClock, over the fixture's stdin line protocol.
 */
import { spawnLines, type Spawned } from '../../helpers/spawn.js';

export interface AgentChild {
  proc: Spawned;
  /** `heapUsed` after a full GC, bytes. */
  heap(): Promise<number>;
  /** Advance the agent's SimulatedClock (`--simulated-clock`). */
  advance(ms: number): Promise<void>;
  /** Ids the agent published ("event <id>" lines). */
  published(): number[];
  /** SIGTERM: the agent closes (socket file removed) and exits; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function agentChild(path: string, ...args: string[]): Promise<AgentChild> {
  const proc = spawnLines(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/fixtures/edge-agent.ts', path, ...args], { stdin: true });
  await proc.waitFor(/^listening$/, 20_000);
  const answered = new Map<string, number>();
  /** Send `command`; resolves with its answer, the next line starting with `prefix`. */
  const ask = (command: string, prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const n = answered.get(prefix) ?? 0;
      // spawnLines's own listener was added first: `lines` is up to date when this one runs.
      const check = () => {
        const line = proc.lines.filter((l) => l.startsWith(prefix))[n];
        if (line === undefined) return;
        answered.set(prefix, n + 1);
        done();
        resolve(line);
      };
      const exit = () => {
        done();
        reject(new Error(`the agent exited before answering "${command}": ${proc.stderr()}`));
      };
      const done = () => {
        proc.child.stdout!.off('data', check);
        proc.child.off('exit', exit);
      };
      proc.child.stdout!.on('data', check);
      proc.child.once('exit', exit);
      proc.child.stdin!.write(`${command}\n`);
    });
  return {
    proc,
    heap: async () => Number((await ask('mem', 'mem ')).split(' ')[1]),
    advance: async (ms) => void (await ask(`advance ${ms}`, 'advanced ')),
    published: () => proc.lines.filter((l) => l.startsWith('event ')).map((l) => Number(l.slice(6))),
    stop: () => proc.kill('SIGTERM'),
  };
}
