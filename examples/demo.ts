/**
 * `npm start`: the live demo. One supervisor, all on loopback:
 * - `ws-echo`: a real WebSocket client to an in-process `ws` echo peer;
 * - `edge-agent`: a real EdgeClient to an in-process EdgeAgentServer (UNIX socket);
 * - `radio`, `apigw`, `tcp`: mock transports standing in for the serial (CAT),
 *   API Gateway and TCP/TLS kinds not built yet, labelled "simulated";
 * - a fault injector that drops links, refuses connects, sends TX drops and
 *   disconnects, so every state is visited within a minute;
 * - the visualizer at http://127.0.0.1:4400 (`--port` or PORT).
 * Ctrl-C or SIGTERM shuts everything down (the supervisor's `shutdown`), removes
 * the agent's socket and temp dir (`$TMPDIR/statewire-demo-*`), and the process exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer as createHttpServer } from 'node:http';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { createSupervisor, type SupervisorOptions } from '../actors/index.js';
import { mockTransport, type MockTransport } from '../transports/mock/index.js';
import { webSocketTransport } from '../transports/websocket/index.js';
import { EdgeAgentServer, EdgeClient } from '../transports/unix/index.js';
import { serveVisualizer } from '../visualizer/index.js';

const HELP = `usage: npm start -- [options]

The statewire live demo: a supervisor with real and simulated connections, a
fault injector, and the visualizer in your browser. Ctrl-C (or SIGTERM) stops it.

  --port <n>           visualizer port (default: PORT or 4400; 0 picks a free one)
  --faults-every <ms>  time between injected faults (default 4000)
  --inspect            also stream to the Stately inspector through a local
                       bridge on 127.0.0.1 (http://127.0.0.1:<inspect-port>);
                       needs the optional package @statelyai/inspect
  --inspect-port <n>   port of that local inspector server (default 4401)
  --quiet              do not print state changes
  -h, --help           this text`;

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'faults-every': { type: 'string', default: '4000' },
    inspect: { type: 'boolean', default: false },
    'inspect-port': { type: 'string', default: '4401' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const port = Number(values.port ?? process.env.PORT ?? 4400);
const every = Number(values['faults-every']);
const inspectPort = Number(values['inspect-port']);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`--port must be an integer within 0..65535, got ${values.port ?? process.env.PORT}`);
if (!(every > 0)) throw new RangeError(`--faults-every must be a number of ms > 0, got ${values['faults-every']}`);
if (!Number.isInteger(inspectPort) || inspectPort < 1 || inspectPort > 65535) throw new RangeError(`--inspect-port must be within 1..65535`);

// Optional: the Stately inspector, through a local bridge server (never the Sky inspector).
// @statelyai/inspect is an optional peer dependency: it is loaded only here.
let inspectOption: Pick<SupervisorOptions, 'inspect'> = {};
let stopInspector = async () => {};
if (values.inspect) {
  let inspectLib: typeof import('@statelyai/inspect');
  try {
    inspectLib = await import('@statelyai/inspect');
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes("'@statelyai/inspect'")) throw error;
    console.error('--inspect needs @statelyai/inspect: npm install @statelyai/inspect');
    process.exit(2);
  }
  const bridge = await startInspectorBridge(inspectPort).catch((error: NodeJS.ErrnoException) => {
    console.error(`--inspect-port ${inspectPort}: ${error.code === 'EADDRINUSE' ? 'address already in use' : error.message}`);
    process.exit(2);
  });
  const inspector = inspectLib.createWebSocketInspector({ url: `ws://127.0.0.1:${inspectPort}` });
  inspectOption = { inspect: inspector.inspect };
  stopInspector = async () => {
    inspector.stop();
    await bridge.close();
  };
  console.log(`Stately inspector bridge: open http://127.0.0.1:${inspectPort} (it embeds https://stately.ai/inspect in your browser)`);
}

/**
 * The bridge @statelyai/inspect's `createInspectorServer` starts (an HTTP page
 * that embeds the Stately inspector UI, and a WebSocket relay that replays the
 * newest 200 messages to each new page), but listening on 127.0.0.1 only:
 * `createInspectorServer` has no host option and listens on every interface.
 * Browser pages from other origins are refused (the inspection events carry
 * the machines' context).
 */
async function startInspectorBridge(port: number): Promise<{ close(): Promise<void> }> {
  const page = `<!DOCTYPE html>
<html><head><title>Stately Inspector (statewire)</title>
<style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style>
</head><body>
<iframe id="inspector" src="https://stately.ai/inspect"></iframe>
<script>
  const iframe = document.getElementById('inspector');
  const buffer = [];
  let connected = false;
  window.addEventListener('message', (e) => {
    if (e.data && e.data.type === '@statelyai.connected') {
      connected = true;
      for (const event of buffer.splice(0)) iframe.contentWindow.postMessage(event, '*');
    }
  });
  const ws = new WebSocket('ws://' + location.host);
  ws.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (connected) iframe.contentWindow.postMessage(data, '*');
    else buffer.push(data);
  };
</script></body></html>`;
  const http = createHttpServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  const origins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  // No Origin header: a Node client (the app's inspector, a test). Otherwise only the bridge's own page.
  const wss = new WebSocketServer({ server: http, verifyClient: ({ origin }: { origin?: string }) => !origin || origins.has(origin) });
  wss.on('error', () => {}); // ws re-emits the HTTP server's errors; listen() below reports them
  const replay: string[] = [];
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    for (const msg of replay) ws.send(msg);
    ws.on('message', (data) => {
      const msg = String(data);
      replay.push(msg);
      if (replay.length > 200) replay.shift();
      for (const client of wss.clients) if (client !== ws && client.readyState === client.OPEN) client.send(msg);
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  return {
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}

const supervisor = createSupervisor({ id: 'demo', maxRestarts: 50, periodMs: 60_000, ...inspectOption });
const policy = { initialBackoffMs: 300, maxBackoffMs: 3000, stableAfterMs: 3000, connectTimeoutMs: 2000 };

// A real WebSocket echo peer, in process.
const echo = new WebSocketServer({ host: '127.0.0.1', port: 0 });
await new Promise((r) => echo.once('listening', r));
echo.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
supervisor.startChild({
  id: 'ws-echo',
  transport: webSocketTransport({ url: `ws://127.0.0.1:${(echo.address() as AddressInfo).port}`, pingIntervalMs: 5000, pongTimeoutMs: 3000 }),
  policy,
});

// A real edge agent on a UNIX socket, and an EdgeClient under the same supervisor.
const dir = mkdtempSync(join(tmpdir(), 'statewire-demo-'));
const agent = new EdgeAgentServer({ path: join(dir, 'edge.sock') });
await agent.listen();
const edge = await EdgeClient.open({ path: agent.path, supervisor, id: 'edge-agent', policy });

// Simulated kinds (not built yet): mock transports.
const mocks: Record<string, MockTransport> = {
  radio: mockTransport({ kind: 'serial (simulated)' }),
  apigw: mockTransport({ kind: 'apigw (simulated)' }),
  tcp: mockTransport({ kind: 'tcp (simulated)' }),
};
for (const [id, transport] of Object.entries(mocks)) {
  supervisor.startChild({ id, transport, policy: id === 'tcp' ? { ...policy, maxRetries: 2 } : policy });
}

const viz = await serveVisualizer(supervisor, { port, labels: { radio: 'simulated', apigw: 'simulated', tcp: 'simulated' } });

if (!values.quiet) {
  supervisor.events$.subscribe((e) => {
    if (e.type === 'EVENT_STATE_CHANGE') console.log(`${new Date(e.timestamp).toISOString().slice(11, 23)} ${e.connectionId.padEnd(10)} ${String(e.data.from).padEnd(12)} → ${String(e.data.to)}`);
  });
}

// Traffic, so the links carry data.
let n = 0;
const traffic = setInterval(() => {
  n++;
  void supervisor.send('ws-echo', `ping ${n}`).catch(() => {});
  void edge.sendEvent('DemoHeartbeat', 'info', { n }).catch(() => {});
  for (const id of Object.keys(mocks)) void supervisor.send(id, `frame ${n}`, { volatile: true }).catch(() => {});
}, 1000);

// Faults, in turn: every state is visited within a minute at the default pace.
const faults: Array<[string, () => void]> = [
  ['TX drop on radio (fast path)', () => supervisor.child('radio')?.send({ type: 'TX_DROP' })],
  ['the echo peer drops every socket', () => { for (const c of echo.clients) c.terminate(); }],
  ['apigw: link lost, next 3 connects refused', () => { mocks.apigw!.failNextConnects(3); mocks.apigw!.drop('simulated outage'); }],
  ['tcp: link lost, refused until it fails and is restarted', () => { mocks.tcp!.failNextConnects(5); mocks.tcp!.drop('simulated outage'); }],
  ['the edge agent drops its client', () => { for (const c of agent.listener.supervisor.whichChildren()) void agent.listener.supervisor.stopChild(c.id); }],
  ['radio: DISCONNECT (a permanent child is restarted)', () => supervisor.child('radio')?.send({ type: 'DISCONNECT' })],
];
let f = 0;
const injector = setInterval(() => {
  const [what, fault] = faults[f++ % faults.length]!;
  if (!values.quiet) console.log(`fault: ${what}`);
  fault();
}, every);

// Ctrl-C, or a service manager's stop (SIGTERM): the same clean shutdown, which
// also removes the agent's socket file and its temp dir (issue 11, defect 11).
let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  clearInterval(traffic);
  clearInterval(injector);
  void (async () => {
    await viz.close();
    await edge.close();
    await supervisor.shutdown({ timeoutMs: 5000 });
    await agent.close();
    for (const c of echo.clients) c.terminate();
    await new Promise((r) => echo.close(r));
    await stopInspector();
    rmSync(dir, { recursive: true, force: true });
    console.log('shut down cleanly');
  })();
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
// Last: once this line is out, a signal gets the clean shutdown.
console.log(`statewire demo: visualizer at ${viz.url}  (Ctrl-C to stop)`);
