/**
 * The API Gateway tests' parts: an emulator, the real SDK client on its
 * endpoint, and real `ws` clients that record what they receive.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { WebSocket } from 'ws';
import { createApiGatewayEmulator, type ApiGatewayEmulator, type ApiGatewayEmulatorOptions, type EmulatorConnection } from '../../../transports/apigateway/emulator.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
export const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };

export interface TestClient {
  ws: WebSocket;
  connectionId: string;
  /** Messages received, in order. */
  messages: Array<{ data: Buffer; isBinary: boolean }>;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
}

export interface Rig {
  emulator: ApiGatewayEmulator;
  sdk: ApiGatewayManagementApiClient;
  /** A real ws client, connected (its id known). */
  connect(options?: { headers?: Record<string, string>; path?: string }): Promise<TestClient>;
  close(): Promise<void>;
}

export async function startRig(options: ApiGatewayEmulatorOptions = {}): Promise<Rig> {
  const emulator = await createApiGatewayEmulator(options);
  const sdk = new ApiGatewayManagementApiClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  const sockets: WebSocket[] = [];
  return {
    emulator,
    sdk,
    async connect({ headers, path } = {}) {
      const connected = new Promise<EmulatorConnection>((resolve) => {
        const off = emulator.on('connect', (c) => (off(), resolve(c)));
      });
      const ws = new WebSocket(path ? emulator.url.replace(/\/prod$/, path) : emulator.url, { headers });
      sockets.push(ws);
      ws.on('error', () => {});
      const messages: TestClient['messages'] = [];
      ws.on('message', (data, isBinary) => messages.push({ data: Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]), isBinary }));
      const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const { connectionId } = await connected;
      return { ws, connectionId, messages, closed };
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      sdk.destroy();
      await emulator.close();
    },
  };
}

/** What `promise` rejected with (fails when it resolved). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (e: unknown) => e,
  );
}
