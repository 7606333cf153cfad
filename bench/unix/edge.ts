/**
 * Acknowledged events per second over one UNIX socket (the peer in its own process):
 *   edge.ts pipelined <n>     EdgeClient, all n sendEvent calls at once (inFlightLimit 256)
 *   edge.ts stopwait <n>      the seed's way: write one frame, wait for its ack, then the next
 *   edge.ts raw <n>           raw socket writes of the same frames, no acks (until a sink has read them all)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgeClient } from '../../transports/unix/index.js';

const [subject, nArg] = process.argv.slice(2) as ['pipelined' | 'stopwait' | 'raw', string];
const n = Number(nArg);
const dir = mkdtempSync(join(tmpdir(), 'swb-'));
const path = join(dir, 'edge.sock');
const peer = spawn(process.execPath, [...(process.env.PEER_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.PEER_PROF] : []), '--import', 'tsx', fileURLToPath(new URL('./peer.ts', import.meta.url)), subject === 'raw' ? 'sink' : 'agent', path, String(n)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((r) => peer.stdout!.on('data', (d) => String(d).includes('listening') && r()));
const details = { user: 'root', source: '203.0.113.9', attempts: 3 };
const frame = (id: number) => `${JSON.stringify({ id, event_type: 'LoginFailed', severity: 'high', details, timestamp: new Date().toISOString() })}\n`;

let ms: number;
if (subject === 'pipelined') {
  const conn = await EdgeClient.open({ path: path, ...(process.env.INFLIGHT ? { inFlightLimit: Number(process.env.INFLIGHT) } : {}) });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, () => conn.sendEvent('LoginFailed', 'high', details)));
  ms = performance.now() - t0;
  await conn.close();
} else {
  const s = createConnection({ path });
  await new Promise((r) => s.once('connect', r));
  let buf = '';
  let waiter: ((line: string) => void) | undefined;
  s.on('data', (d) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiter?.(line);
    }
  });
  const nextLine = () => new Promise<string>((r) => (waiter = r));
  const t0 = performance.now();
  if (subject === 'stopwait') {
    for (let id = 1; id <= n; id++) {
      const ack = nextLine();
      s.write(frame(id));
      if (JSON.parse(await ack).ack !== id) throw new Error('ack mismatch');
    }
  } else {
    const done = nextLine();
    for (let id = 1; id <= n; id++) s.write(frame(id));
    await done;
  }
  ms = performance.now() - t0;
  s.destroy();
}
peer.kill('SIGTERM');
await new Promise((r) => peer.once('exit', r));
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ figure: 'unix-events', subject, n, perSecond: Math.round((n / ms) * 1000), ms: Math.round(ms) }));
