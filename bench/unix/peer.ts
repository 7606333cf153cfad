/**
 * The far side of the UNIX-socket benchmark, in its own process:
 *   peer.ts agent <path>    an EdgeAgentServer (validates, dedupes, publishes, acks)
 *   peer.ts sink <path> <n,m,...> reads frames, discards them, answers "done" after n lines, then after m more, ...
 * Prints "listening" when ready. On SIGTERM it prints the CPU time (user +
 * system, µs) it used since SIGUSR2 (the subject's start of timing; else its
 * first connection), `{"cpuUs":...}`, and exits.
 */
import { createServer } from 'node:net';
import { unlinkSync } from 'node:fs';
import { EdgeAgentServer } from '../../transports/unix/index.js';

const [mode, path, nArg] = process.argv.slice(2) as [string, string, string];
let cpu0: NodeJS.CpuUsage | undefined;
const started = () => (cpu0 ??= process.cpuUsage());
process.on('SIGUSR2', () => (cpu0 = process.cpuUsage()));
const report = () => {
  const d = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ cpuUs: d.user + d.system }));
};
if (mode === 'agent') {
  const agent = new EdgeAgentServer({ path });
  agent.listener.accepted$.subscribe(started);
  await agent.listen();
  process.on('SIGTERM', () => {
    report();
    void agent.close().then(() => process.exit(0));
  });
} else {
  try {
    unlinkSync(path);
  } catch {}
  const blocks = nArg.split(',').map(Number);
  const server = createServer((s) => {
    started();
    let lines = 0;
    let block = 0;
    s.on('data', (d: Buffer) => {
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++;
      while (block < blocks.length && lines >= blocks[block]!) {
        lines -= blocks[block++]!;
        s.write('done\n');
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  process.on('SIGTERM', () => {
    report();
    server.close(() => process.exit(0));
  });
}
console.log('listening');
