/**
 * The far side of the UNIX-socket benchmark, in its own process:
 *   peer.ts agent <path>   an EdgeAgentServer (validates, acks)
 *   peer.ts sink <path> <n> reads frames, discards them, answers "done" after n lines
 * Prints "listening" when ready.
 */
import { createServer } from 'node:net';
import { unlinkSync } from 'node:fs';
import { EdgeAgentServer } from '../../transports/unix/index.js';

const [mode, path, nArg] = process.argv.slice(2) as [string, string, string];
if (mode === 'agent') {
  const agent = new EdgeAgentServer({ path });
  await agent.listen();
  process.on('SIGTERM', () => void agent.close().then(() => process.exit(0)));
} else {
  try {
    unlinkSync(path);
  } catch {}
  const n = Number(nArg);
  const server = createServer((s) => {
    let lines = 0;
    s.on('data', (d: Buffer) => {
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++;
      if (lines >= n) {
        s.write('done\n');
        lines = -Infinity;
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
console.log('listening');
