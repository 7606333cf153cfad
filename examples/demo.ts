/**
 * `npm start`: the live demo. One supervisor, all on loopback:
 * - `ws-echo`: a real WebSocket client to an in-process `ws` echo peer;
 * - `edge-agent`: a real EdgeClient to an in-process EdgeAgentServer (UNIX socket);
 * - `radio`: a real RadioLink (serial CAT) to a TS-590S emulator, on a socat
 *   pty pair in the temp dir when `socat` is on PATH, else on SerialPortMock
 *   (`mockRig()`); it is monitored (`IF;`), and a script keys it for a few
 *   seconds at a time with the output power (`PC`) changing, so its power
 *   readings (`SM0;`) draw the visualizer's power chart;
 * - `apigw-<n>`: API Gateway WebSocket connections, through the API Gateway
 *   emulator in process (`examples/emulated-apigateway.ts`): three
 *   "browsers" (real `ws` clients) connect to it, its `$connect` and
 *   `$disconnect` routes keep their records in a MemoryConnectionStore, and
 *   each connection is a child over `apiGatewayTransport` (the real AWS SDK
 *   client, pointed at the emulator) that gets a tick every second;
 * - `tcp`: a TLS client connection (ConnectionManager, development certificates)
 *   to an in-process TLS echo listener, whose accepted side is `tls-conn-<n>`;
 * - `spare`: a mock transport, a permanent child restarted after DISCONNECT,
 *   labelled "simulated";
 * - a fault injector that drops links, refuses connects and disconnects, and
 *   gives the radio real faults: a TX drop while keyed (the fast path), the
 *   rig silent (a lost link and a reconnect), its PA failing (0 W: power
 *   alarms, printed), the rig busy; and API Gateway's: a browser closes or
 *   the worker DELETEs its connection (the child's next send answers 410:
 *   it fails and is removed, a new browser becomes a new child), a burst of
 *   sends meets the emulator's 429 (retried with backoff). Every state is
 *   visited within a minute;
 * - the visualizer at http://127.0.0.1:4400 (`--port` or PORT);
 * - with `--record <file>`, the flight recorder (`supervisor.record`): the
 *   run as NDJSON, stopped at shutdown; `npx statewire replay <file>` plays it.
 * Ctrl-C or SIGTERM shuts everything down (the radio unkeyed and stopped, then
 * the supervisor's `shutdown`), closes the browsers, the API Gateway emulator
 * and the SDK client, kills socat, removes the agent's socket, the pty links
 * and the temp dir (`$TMPDIR/statewire-demo-*`), and the process exits.
 * No AWS account and no network: the SDK's endpoint is the emulator on loopback.
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
import { RadioLink, serialTransport } from '../transports/serial/index.js';
import { serveVisualizer } from '../visualizer/index.js';
import { startEmulatedRig } from './emulated-rig.js';
import { ConnectionManager, createDevCertificates, createListener, type TcpListener } from '../transports/tcp/index.js';
import { API_GATEWAY_LABEL, CHILD_PREFIX, startApiGatewayDemo } from './emulated-apigateway.js';

// The AWS SDK warns about Node 20 once per process: noise in a demo.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HELP = `usage: npm start -- [options]

The statewire live demo: a supervisor with real and simulated connections, a
radio link to an emulated TS-590S (on a socat pty pair when socat is on PATH,
else on SerialPortMock) keyed now and then so its output power is charted,
API Gateway WebSocket connections (apigw-<n>: browsers connected to the API
Gateway emulator in process, reached through the AWS SDK; no AWS account
needed), a fault injector, and the visualizer in your browser. Ctrl-C (or
SIGTERM) stops it.

  --port <n>           visualizer port (default: PORT or 4400; 0 picks a free one)
  --faults-every <ms>  time between injected faults (default 4000)
  --inspect            also stream to the Stately inspector through a local
                       bridge on 127.0.0.1 (http://127.0.0.1:<inspect-port>);
                       needs the optional package @statelyai/inspect
  --inspect-port <n>   port of that local inspector server (default 4401)
  --record <file>      also record the run (supervisor.record): replay it with
                       npx statewire replay <file>
  --quiet              do not print state changes, faults and power alarms
  -h, --help           this text`;

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'faults-every': { type: 'string', default: '4000' },
    inspect: { type: 'boolean', default: false },
    'inspect-port': { type: 'string', default: '4401' },
    quiet: { type: 'boolean', default: false },
    record: { type: 'string' },
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
// The flight recorder (issue 17): every event and child, until shutdown; `npx statewire replay <file>` plays it back.
const recording = values.record === undefined ? undefined : supervisor.record(values.record);
if (recording) console.log(`recording to ${recording.file}`);
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

// A real radio link (serial CAT) to an emulated TS-590S, in the same temp dir.
const emulated = await startEmulatedRig(dir);
const { rig } = emulated;
const radio = new RadioLink({
  supervisor,
  transport: serialTransport(emulated.transportOptions),
  id: 'radio',
  monitorIntervalMs: 1000,
  powerPollIntervalMs: 500,
  cat: { timeoutMs: 300, retries: 2 },
  policy: { initialBackoffMs: 300, maxBackoffMs: 3000, stableAfterMs: 3000 },
});
radio.startMonitoring();
radio.startPowerPolling();
const radioLabel = `emulated TS-590S (${emulated.kind})`;
console.log(`radio: ${radioLabel} at ${emulated.transportOptions.path}`);
emulated.onSocatExit = (why) => console.error(`radio: the pty pair is gone (${why}); the link retries`);

const time = (t: number) => new Date(t).toISOString().slice(11, 23);
const say = (line: string) => values.quiet || console.log(`${time(Date.now())} ${line}`);

// API Gateway connections: browsers on the emulator, each connection a child over the real SDK client.
// A small token bucket (10 at once, 20 a second; API Gateway's is 5,000 and 10,000), so that the burst fault meets 429.
const apigw = await startApiGatewayDemo({ supervisor, policy, rateLimit: { rps: 20, burst: 10 }, log: (line) => say(`apigw: ${line}`) });
console.log(`apigw: API Gateway emulator at ${apigw.emulator.url} (management API ${apigw.emulator.endpoint})`);

// TCP/TLS: a TLS echo server with development certificates (its accepted connections are
// children too), and a client connection to it through the ConnectionManager, cached as `tcp`.
const certs = await createDevCertificates();
const tlsServerOptions = { tls: { cert: certs.server.cert, key: certs.server.key }, supervisor };
let tlsServer = await createListener(tlsServerOptions);
const tlsPort = tlsServer.port;
const echoEverything = (l: TcpListener) => l.connections$.subscribe(({ connection }) => connection.data$.subscribe((d) => void connection.send(d).catch(() => {})));
echoEverything(tlsServer);
const tcpManager = new ConnectionManager({ supervisor });
tcpManager.events$.subscribe((e) => e.type === 'tls-handshake' && say(`tcp: TLS handshake done, ${e.tls.protocol} ${e.tls.cipher}`));
await tcpManager.connect([{ host: 'localhost', port: tlsPort, enableTLS: true, cacheKey: 'tcp', tls: { ca: certs.ca.cert } }], { maxReconnectionAttempts: Infinity });
console.log(`tcp: TLS connection to localhost:${tlsPort} (development CA)`);
// A simulated permanent child, for the restart-after-DISCONNECT fault.
const spare: MockTransport = mockTransport({ kind: 'mock (simulated)' });
supervisor.startChild({ id: 'spare', transport: spare, policy: { ...policy, maxRetries: 2 } });

const viz = await serveVisualizer(supervisor, { port, labels: { radio: radioLabel, [`${CHILD_PREFIX}*`]: API_GATEWAY_LABEL, tcp: 'TLS (ConnectionManager)', 'tls-conn-*': 'TLS listener', spare: 'simulated' } });

if (!values.quiet) {
  supervisor.events$.subscribe((e) => {
    if (e.type === 'EVENT_STATE_CHANGE') console.log(`${time(e.timestamp)} ${e.connectionId.padEnd(10)} ${String(e.data.from).padEnd(12)} → ${String(e.data.to)}`);
    else if (e.type === 'EVENT_POWER_WARNING' || e.type === 'EVENT_POWER_CRITICAL') {
      console.log(`${time(e.timestamp)} ${e.connectionId.padEnd(10)} power ${e.type === 'EVENT_POWER_CRITICAL' ? 'CRITICAL' : 'warning'}: ${e.data.watts} W (${e.data.consecutiveZeros} zero readings in a row)`);
    } else if (e.type === 'EVENT_POWER_TREND_WARNING') {
      console.log(`${time(e.timestamp)} ${e.connectionId.padEnd(10)} power falling: ${e.data.watts} W, ${e.data.slopeWattsPerReading.toFixed(1)} W per reading`);
    }
  });
}

// The operator: every 8 s, a 5 s transmission with the output power (PC) following a profile.
const PROFILES = [
  [100, 100, 100, 100, 100],
  [90, 70, 50, 30, 15], // a falling output: the trend warning
  [50, 50, 50, 50, 50],
  [10, 30, 50, 70, 90],
  [75, 68, 80, 72, 77],
];
const TX_SECONDS = 5;
const CYCLE_SECONDS = 8;
let second = 0;
let keyed = false;
/** A key-up failed: the link counts PTT as keyed (a loss during the write is a TX drop) although the rig may never have heard it. */
let unsure = false;
const operator = setInterval(() => {
  const now = second++;
  const t = now % CYCLE_SECONDS;
  const profile = PROFILES[Math.floor(now / CYCLE_SECONDS) % PROFILES.length]!;
  if (radio.getConnectionStatus().state !== 'connected') return;
  if (unsure) {
    // Ask the rig (`IF;` says whether it transmits; the link takes its word).
    unsure = false;
    void radio.cat.info().catch(() => (unsure = true));
  }
  if (t < TX_SECONDS) {
    void radio.cat.setPower(profile[t]!).catch(() => {});
    if (!keyed || !radio.getConnectionStatus().ptt) void radio.ptt(true).catch(() => (unsure = true));
    keyed = true;
  } else if (keyed) {
    keyed = false;
    void radio.ptt(false).catch(() => (unsure = true));
  }
}, 1000);

/** The radio's faults end by themselves after a while: their timers, cleared at shutdown. */
const faultTimers = new Map<string, NodeJS.Timeout>();
const forAWhile = (name: string, ms: number, start: () => void, end: () => void) => {
  clearTimeout(faultTimers.get(name));
  start();
  faultTimers.set(name, setTimeout(() => (faultTimers.delete(name), end()), ms));
};

// Traffic, so the links carry data (the radio's is its own: the monitoring poll, PTT, PC and the power meter).
let n = 0;
const traffic = setInterval(() => {
  n++;
  void supervisor.send('ws-echo', `ping ${n}`).catch(() => {});
  void edge.sendEvent('DemoHeartbeat', 'info', { n }).catch(() => {});
  void supervisor.send('tcp', `frame ${n}\n`, { volatile: true }).catch(() => {});
  apigw.sendToAll({ type: 'tick', n });
}, 1000);

// Faults, in turn: every state is visited within a minute at the default pace.
const faults: Array<[string, () => void]> = [
  ['radio: TX drop while keyed (RX; first, then the fast path)', () => {
    const drop = () => radio.markTxDrop();
    const { ptt, state } = radio.getConnectionStatus();
    if (ptt) drop();
    else if (state === 'connected') void radio.ptt(true).then(drop, () => (unsure = true));
  }],
  ['the echo peer drops every socket', () => { for (const c of echo.clients) c.terminate(); }],
  ['radio: the rig goes silent for 5 s (a lost link, then a reconnect)', () => forAWhile('silent', 5000, () => rig.goSilent(true), () => rig.goSilent(false))],
  ['apigw: a browser closes its tab (its child sees 410 on the next send)', () => say(`apigw: ${apigw.closeBrowser()}`)],
  ['radio: the PA fails for 6 s (0 W while keyed: power alarms)', () => forAWhile('pa', 6000, () => rig.dropPowerDuringTx(true), () => rig.dropPowerDuringTx(false))],
  ['tcp: the TLS server restarts (the client reconnects with backoff)', () => {
    const old = tlsServer;
    void old.close().then(() => forAWhile('tls-server', 2000, () => {}, () => void createListener({ ...tlsServerOptions, port: tlsPort }).then((l) => { if (stopping) return void l.close(); tlsServer = l; echoEverything(l); }, () => {})));
  }],
  ['spare: link lost, refused until it fails and is restarted', () => { spare.failNextConnects(5); spare.drop('simulated outage'); }],
  ['apigw: the worker DELETEs a connection (a server-side disconnect)', () => void apigw.deleteConnection().then((what) => say(`apigw: ${what}`))],
  ['radio: the rig is busy for 2 s (answers ?;)', () => rig.busyFor(2000)],
  ['the edge agent drops its client', () => { for (const c of agent.listener.supervisor.whichChildren()) void agent.listener.supervisor.stopChild(c.id); }],
  ['apigw: a burst of 20 messages to each connection (the emulator answers 429 past 10)', () => apigw.burst(20)],
  ['spare: DISCONNECT (a permanent child is restarted)', () => supervisor.child('spare')?.send({ type: 'DISCONNECT' })],
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
  clearInterval(operator);
  for (const timer of faultTimers.values()) clearTimeout(timer);
  apigw.stop(); // no new browsers or children while the supervisor stops
  void (async () => {
    await viz.close();
    await edge.close();
    // The radio first: RX; (unkeyed) on the live link, then its port closed and its child removed.
    await radio.stopMonitoring();
    await emulated.close(); // the emulator detached, socat killed
    await tcpManager.gracefulShutdown();
    await tlsServer.close();
    await supervisor.shutdown({ timeoutMs: 5000 }); // the apigw children DELETE their connections
    if (recording) {
      await recording.stop().catch((e: Error) => console.error(e.message));
      console.log(`recorded ${recording.lines} lines to ${recording.file}: npx statewire replay ${recording.file}`);
    }
    await apigw.close(); // the browsers, the emulator, the SDK client
    console.log(`apigw: the browsers received ${apigw.received} messages`);
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
