/**
 * An EdgeAgentServer in a process of its own, for the "edge" scenario to
 * SIGKILL: `agent.ts <socket path>`. Prints `ready` once it listens, then
 * `e <client> <n>` for each event it publishes (details `{ c, n }`), before
 * the ack goes out: stdout to a pipe is synchronous, so an acked event is
 * printed even if the process is killed right after.
 */
import { EdgeAgentServer } from '../../transports/unix/index.js';

const agent = new EdgeAgentServer({ path: process.argv[2]! });
agent.events$.subscribe((e) => process.stdout.write(`e ${String(e.details.c)} ${String(e.details.n)}\n`));
await agent.listen();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void agent.close().then(() => process.exit(0)));
