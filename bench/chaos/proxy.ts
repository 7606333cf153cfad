/**
 * A fault-injecting TCP proxy on 127.0.0.1, between clients and one server
 * (a TCP port or a UNIX socket). Faults come by hand or on a seeded schedule:
 *
 * - `cut`: destroy both sides of some connections (a crashed peer, a reset);
 * - `stall`: stop forwarding for a while but keep both sockets open (a
 *   half-open connection: neither side learns anything until its own
 *   liveness check says so); reading is paused, so TCP backpressure builds
 *   as it would on a dead path; closes seen meanwhile are applied when the
 *   stall ends;
 * - `slow`: deliver each chunk late, in small pieces (a congested link);
 * - `refuse`: for a while, close every new connection at once (a server
 *   restarting, a full accept queue).
 *
 * The schedule (gaps, fault kinds, durations, how many connections are hit)
 * is drawn from the seeded random given, so a seed names the same sequence of
 * faults; when each lands relative to the traffic is up to the clock.
 *
 * @example
 * ```ts
 * const proxy = await ChaosProxy.start({ target: { port }, random: seededRandom(7) });
 * proxy.run({ gapMs: [100, 400] });           // faults until calm()
 * const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/`);
 * await proxy.calm();                          // faults stop, stalled links resume
 * await proxy.close();
 * ```
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type FaultKind = 'cut' | 'stall' | 'slow' | 'refuse';

export interface ChaosProxyOptions {
  /** Where connections go: a loopback TCP port or a UNIX socket path. */
  target: { port: number; host?: string } | { path: string };
  /** Seeded random for the schedule and for which connections a fault hits. */
  random: () => number;
}

export interface FaultPlan {
  /** Relative weights of each fault. Default: cut 3, stall 2, slow 2, refuse 1. */
  weights?: Partial<Record<FaultKind, number>>;
  /** Time between two faults, ms (drawn uniformly). Default [150, 600]. */
  gapMs?: [number, number];
  /** How long a stall, a slow spell or a refusal lasts, ms. Default [100, 800]. */
  durationMs?: [number, number];
  /** Share of the live connections a cut, stall or slow spell hits. Default [0.2, 1]. */
  share?: [number, number];
  /** Delay per piece while slow, ms. Default [5, 40]. */
  slowDelayMs?: [number, number];
}

export interface FaultRecord {
  kind: FaultKind;
  /** Connections hit (refuse: connections refused during it). */
  hit: number;
  ms: number;
}

export interface ProxyStats {
  accepted: number;
  refused: number;
  /** Connections to the server that failed (the server was down). */
  upstreamErrors: number;
  bytes: number;
  faults: FaultRecord[];
}

const DEFAULT_WEIGHTS: Record<FaultKind, number> = { cut: 3, stall: 2, slow: 2, refuse: 1 };

/** One client connection and its connection to the server. */
class Pair {
  stalled = false;
  slowDelayMs = 0;
  dead = false;
  /** A close seen while stalled: applied when the stall ends. */
  pendingEnd = false;
  readonly pumps: Pump[];
  constructor(
    readonly proxy: ChaosProxy,
    readonly client: Socket,
    readonly server: Socket,
  ) {
    this.pumps = [new Pump(this, client, server), new Pump(this, server, client)];
    for (const s of [client, server]) {
      s.on('error', () => this.destroy());
      s.on('close', () => (this.stalled ? (this.pendingEnd = true) : this.destroy()));
    }
  }
  stall() {
    this.stalled = true;
    this.client.pause();
    this.server.pause();
  }
  resume() {
    this.stalled = false;
    this.slowDelayMs = 0;
    if (this.dead) return;
    if (this.pendingEnd || this.client.destroyed || this.server.destroyed) return this.destroy();
    this.client.resume();
    this.server.resume();
    for (const p of this.pumps) p.kick();
  }
  destroy() {
    if (this.dead) return;
    this.dead = true;
    this.client.destroy();
    this.server.destroy();
    this.proxy.forget(this);
  }
}

/** One direction of a pair: forwards chunks in order, late while slow, not at all while stalled. */
class Pump {
  readonly #queue: Buffer[] = [];
  #busy = false;
  constructor(
    readonly pair: Pair,
    readonly from: Socket,
    readonly to: Socket,
  ) {
    from.on('data', (chunk: Buffer) => {
      pair.proxy.stats.bytes += chunk.length;
      if (!this.#busy && this.#queue.length === 0 && !pair.stalled && pair.slowDelayMs === 0) {
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => !pair.stalled && from.resume());
        }
        return;
      }
      this.#queue.push(chunk);
      this.kick();
    });
    from.on('end', () => {
      // A half-close: pass it on once everything before it went.
      this.#queue.push(Buffer.alloc(0));
      this.kick();
    });
  }
  kick() {
    if (!this.#busy) void this.#run();
  }
  async #run() {
    this.#busy = true;
    try {
      while (this.#queue.length && !this.pair.dead && !this.pair.stalled) {
        const chunk = this.#queue.shift()!;
        if (chunk.length === 0) {
          this.to.end();
          continue;
        }
        const delay = this.pair.slowDelayMs;
        if (delay === 0) {
          this.to.write(chunk);
          continue;
        }
        // Slow: small pieces, each late.
        for (let i = 0; i < chunk.length && !this.pair.dead; i += 512) {
          await this.pair.proxy.sleep(delay);
          if (!this.pair.dead) this.to.write(chunk.subarray(i, i + 512));
        }
      }
    } finally {
      this.#busy = false;
    }
  }
}

export class ChaosProxy {
  readonly stats: ProxyStats = { accepted: 0, refused: 0, upstreamErrors: 0, bytes: 0, faults: [] };
  readonly #server: Server;
  readonly #target: ChaosProxyOptions['target'];
  readonly #random: () => number;
  readonly #pairs = new Set<Pair>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #wakers = new Set<() => void>();
  #refuseUntil = 0;
  #refusal: FaultRecord | undefined;
  #schedule: NodeJS.Timeout | undefined;
  #closed = false;
  port = 0;

  private constructor(options: ChaosProxyOptions) {
    this.#target = options.target;
    this.#random = options.random;
    this.#server = createServer((client) => this.#accept(client));
  }

  static async start(options: ChaosProxyOptions): Promise<ChaosProxy> {
    const proxy = new ChaosProxy(options);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.#server.address() as AddressInfo).port;
    return proxy;
  }

  /** Connections open through the proxy now. */
  get live(): number {
    return this.#pairs.size;
  }

  /** Count of faults injected, by kind. */
  faultCounts(): Record<FaultKind, number> {
    const out: Record<FaultKind, number> = { cut: 0, stall: 0, slow: 0, refuse: 0 };
    for (const f of this.stats.faults) out[f.kind]++;
    return out;
  }

  #accept(client: Socket) {
    client.on('error', () => {});
    if (this.#closed || Date.now() < this.#refuseUntil) {
      this.stats.refused++;
      if (this.#refusal) this.#refusal.hit++;
      client.destroy();
      return;
    }
    this.stats.accepted++;
    client.pause();
    const target = this.#target;
    const server = 'path' in target ? createConnection({ path: target.path }) : createConnection({ port: target.port, host: target.host ?? '127.0.0.1' });
    server.on('error', () => {});
    server.pause();
    const onFail = () => {
      this.stats.upstreamErrors++;
      client.destroy();
      server.destroy();
    };
    server.once('error', onFail);
    server.once('connect', () => {
      server.off('error', onFail);
      if (this.#closed || client.destroyed) {
        client.destroy();
        server.destroy();
        return;
      }
      const pair = new Pair(this, client, server);
      this.#pairs.add(pair);
      client.resume();
      server.resume();
    });
  }

  /** @internal A pair is gone. */
  forget(pair: Pair) {
    this.#pairs.delete(pair);
  }

  /** @internal A timer the proxy can cancel on close. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#wakers.delete(wake);
        resolve();
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        resolve();
      };
      this.#timers.add(timer);
      this.#wakers.add(wake);
    });
  }

  #later(ms: number, fn: () => void) {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  /** `share` of the live pairs, drawn with the seeded random. */
  #some(share: number): Pair[] {
    const all = [...this.#pairs].filter((p) => !p.stalled);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    return all.slice(0, Math.ceil(all.length * share));
  }

  /** Destroy both sides of `share` of the connections. Returns how many. */
  cut(share = 1): number {
    const hit = this.#some(share);
    for (const p of hit) p.destroy();
    this.stats.faults.push({ kind: 'cut', hit: hit.length, ms: 0 });
    return hit.length;
  }

  /** Stop forwarding on `share` of the connections for `ms`, sockets kept open. */
  stall(ms: number, share = 1): number {
    const hit = this.#some(share);
    for (const p of hit) p.stall();
    this.stats.faults.push({ kind: 'stall', hit: hit.length, ms });
    this.#later(ms, () => hit.forEach((p) => p.resume()));
    return hit.length;
  }

  /** Deliver late (`delayMs` per piece of 512 bytes) on `share` of the connections for `ms`. */
  slow(ms: number, delayMs: number, share = 1): number {
    const hit = this.#some(share);
    for (const p of hit) p.slowDelayMs = delayMs;
    this.stats.faults.push({ kind: 'slow', hit: hit.length, ms });
    this.#later(ms, () => hit.forEach((p) => (p.slowDelayMs = 0)));
    return hit.length;
  }

  /** Close every new connection at once for `ms`. */
  refuse(ms: number): void {
    this.#refuseUntil = Date.now() + ms;
    this.#refusal = { kind: 'refuse', hit: 0, ms };
    this.stats.faults.push(this.#refusal);
  }

  /** Inject faults on the seeded schedule until `calm()`. */
  run(plan: FaultPlan = {}): void {
    const weights = { ...DEFAULT_WEIGHTS, ...plan.weights };
    const [gapMin, gapMax] = plan.gapMs ?? [150, 600];
    const [durMin, durMax] = plan.durationMs ?? [100, 800];
    const [shareMin, shareMax] = plan.share ?? [0.2, 1];
    const [slowMin, slowMax] = plan.slowDelayMs ?? [5, 40];
    const kinds = (Object.keys(weights) as FaultKind[]).filter((k) => weights[k] > 0);
    const total = kinds.reduce((s, k) => s + weights[k], 0);
    const draw = (min: number, max: number) => min + this.#random() * (max - min);
    const next = () => {
      this.#schedule = setTimeout(() => {
        let roll = this.#random() * total;
        const kind = kinds.find((k) => (roll -= weights[k]) < 0) ?? kinds[0]!;
        const ms = Math.round(draw(durMin, durMax));
        const share = draw(shareMin, shareMax);
        if (kind === 'cut') this.cut(share);
        else if (kind === 'stall') this.stall(ms, share);
        else if (kind === 'slow') this.slow(ms, Math.round(draw(slowMin, slowMax)), share);
        else this.refuse(ms);
        next();
      }, Math.round(draw(gapMin, gapMax)));
    };
    this.#stopSchedule();
    next();
  }

  #stopSchedule() {
    if (this.#schedule) clearTimeout(this.#schedule);
    this.#schedule = undefined;
  }

  /** Stop the schedule and end every fault now: stalled and slow connections forward again, new ones are taken. */
  async calm(): Promise<void> {
    this.#stopSchedule();
    this.#refuseUntil = 0;
    this.#refusal = undefined;
    for (const p of [...this.#pairs]) if (p.stalled || p.slowDelayMs) p.resume();
    for (const wake of [...this.#wakers]) wake();
    this.#wakers.clear();
  }

  /** Stop listening and destroy every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopSchedule();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const wake of [...this.#wakers]) wake();
    this.#wakers.clear();
    for (const p of [...this.#pairs]) p.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
