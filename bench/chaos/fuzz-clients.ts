/**
 * The fuzz-servers scenario's two ends: the server under fuzz in its own
 * process (`Target`, bench/chaos/fuzz-target.ts), and one client per server
 * that sends a frame, then a sentinel whose answer it knows, and tells what
 * answered the frame (see bench/chaos/fuzz-servers.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import type { Frame } from './fuzz-frames.js';
import { within } from './lib.js';

const TARGET = fileURLToPath(new URL('./fuzz-target.ts', import.meta.url));
export type Kind = 'agent' | 'hub' | 'viz';
export type Outcome = 'accepted' | 'refused' | 'ignored' | 'silent' | `closed ${string}` | 'timeout' | 'crash';

export interface Mem {
  heap: number;
  rss: number;
  peakRss: number;
  peakHeap: number;
  polluted: boolean;
}

/** The target process. */
export class Target {
  exited: string | undefined;
  stderr = '';
  readonly exit: Promise<void>;
  #replies: Array<(m: Record<string, unknown>) => void> = [];
  private constructor(
    readonly child: ChildProcess,
    readonly ready: { path?: string; port?: number },
  ) {
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    child.on('message', (m: Record<string, unknown>) => this.#replies.shift()?.(m));
    this.exit = new Promise((r) =>
      child.on('exit', (code, signal) => {
        this.exited = signal ?? String(code);
        for (const w of this.#replies.splice(0)) w({});
        r();
      }),
    );
  }

  static async start(kind: Kind, dir: string): Promise<Target> {
    const child = fork(TARGET, [kind, dir], { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (.*)\n/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`fuzz target ${kind} exited (${code}) before it was ready`)));
    });
    return new Target(child, JSON.parse(line));
  }

  ask(msg: Record<string, unknown>): Promise<Record<string, unknown> | 'timeout'> {
    if (this.exited) return Promise.resolve({});
    return within(
      new Promise<Record<string, unknown>>((r) => {
        this.#replies.push(r);
        this.child.send(msg);
      }),
      5000,
    );
  }

  async mem(): Promise<Mem | undefined> {
    const m = await this.ask({ type: 'mem' });
    return m === 'timeout' || m.heap === undefined ? undefined : (m as unknown as Mem);
  }

  async stop() {
    if (!this.exited) {
      this.child.kill('SIGTERM');
      await within(this.exit, 3000);
      if (!this.exited) this.child.kill('SIGKILL');
    }
    await this.exit;
  }
}

/** A client that can send one frame and tell what answered it. */
export interface Client {
  /** Send `frame` and its sentinel (the `k`-th); what answered the frame. */
  probe(frame: Frame, k: number): Promise<Outcome>;
  close(): void;
}

/** The agent: newline-delimited frames; the sentinel `{"id":<big>}` is nacked with that id. */
export async function agentClient(path: string): Promise<Client> {
  const socket: Socket = createConnection({ path });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  let buffer = '';
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  socket.on('data', (d: Buffer) => {
    const parts = (buffer + d.toString()).split('\n');
    buffer = parts.pop()!;
    lines.push(...parts.filter(Boolean));
    wake?.();
  });
  socket.on('close', () => {
    closed = true;
    wake?.();
  });
  return {
    async probe(frame, k) {
      const sentinel = 1_000_000_000 + k;
      lines.length = 0;
      socket.write(Buffer.concat([frame.bytes, Buffer.from(`\n{"id":${sentinel}}\n`)]));
      const end = Date.now() + 5000;
      const answers: string[] = [];
      for (;;) {
        while (lines.length) {
          const line = lines.shift()!;
          if (line.includes(`"nack":${sentinel}`)) return classifyAgent(answers, frame);
          answers.push(line);
        }
        if (closed) return 'closed socket';
        if (Date.now() > end) return 'timeout';
        await within(new Promise<void>((r) => (wake = r)), Math.max(1, end - Date.now()));
      }
    },
    close: () => socket.destroy(),
  };
}

function classifyAgent(answers: string[], frame: Frame): Outcome {
  if (answers.length === 0) return expectsSilence(frame) ? 'ignored' : 'silent';
  const replies = answers.map((a) => {
    try {
      return JSON.parse(a) as { ack?: number; nack?: number; error?: string };
    } catch {
      return {};
    }
  });
  if (replies.some((m) => 'nack' in m && typeof m.error === 'string' && m.error !== '')) return 'refused';
  if (replies.some((m) => typeof m.ack === 'number')) return 'accepted';
  return 'silent';
}

/** Blank lines and `{"session":"..."}` lines get no answer by protocol. */
function expectsSilence(frame: Frame): boolean {
  const text = frame.bytes.toString();
  if (text.trim() === '') return true;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    return v !== null && typeof v === 'object' && typeof v.session === 'string' && Object.keys(v).length === 1;
  } catch {
    return false;
  }
}

/** A WebSocket client; `sentinel` sends the k-th sentinel and resolves with the frame's outcome. */
async function wsClient(url: string, sentinel: (ws: WebSocket, k: number, answers: unknown[]) => Promise<Outcome | undefined>): Promise<Client> {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`closed ${code} before open`)));
  });
  let closeCode: number | undefined;
  const closed = new Promise<Outcome>((r) => ws.once('close', (code) => r(`closed ${(closeCode = code)}`)));
  return {
    async probe(frame, k) {
      if (closeCode !== undefined) return `closed ${closeCode}`;
      // Text frames carry the bytes as they are (invalid UTF-8 included); random bytes go as binary half the time.
      ws.send(frame.bytes, { binary: frame.category === 'random-bytes' && k % 2 === 0 });
      const answer = await within(Promise.race([sentinel(ws, k, []), closed]), 5000);
      return answer === 'timeout' ? 'timeout' : (answer ?? 'silent');
    },
    close: () => ws.terminate(),
  };
}

/** The hub: a viewer's frame is ignored or closes the socket; a ping's pong is the sentinel. */
export function hubClient(port: number, task: string): Promise<Client> {
  return wsClient(`ws://127.0.0.1:${port}/logs?task=${encodeURIComponent(task)}`, (ws) => new Promise((resolve) => {
    ws.once('pong', () => resolve('ignored'));
    ws.ping();
  }));
}

/**
 * The visualizer: every message it refuses is answered `{ type: 'error', error }`
 * (visualizer/server.ts, `parseCommand`); the sentinel is an unknown action
 * unique to this probe (`sentinel-<k>`), which the refusal names. Error
 * replies before the sentinel's are the frame's. A frame over `maxPayload`
 * closes the socket with 1009 instead.
 */
export function vizClient(port: number): Promise<Client> {
  return wsClient(`ws://127.0.0.1:${port}/events`, (ws, k) => new Promise((resolve) => {
    const action = `sentinel-${k}`;
    let errors = 0;
    const onMessage = (data: Buffer) => {
      let m: { type?: string; error?: unknown };
      try {
        m = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (m.type !== 'error') return;
      if (typeof m.error === 'string' && m.error.includes(JSON.stringify(action))) {
        ws.off('message', onMessage);
        resolve(errors > 0 ? 'refused' : 'accepted');
      } else errors++;
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ action, id: 'a' }));
  }));
}

// `details` last: invalid UTF-8 goes into its string value, the one place a lossy decode would go unnoticed.
