/**
 * The transport contract against the emulator, through the real SDK client;
 * the peer is a real `ws` client connected to the emulator. The link is
 * send-only: what the client sends goes to the `$default` route, so the
 * inbound cases are skipped (declared below, with the reason). A client
 * that leaves is noticed by the link's `GetConnection` check.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { WebSocket } from 'ws';
import { apiGatewayTransport } from '../../../transports/apigateway/apigateway.transport.js';
import { createApiGatewayEmulator, type EmulatorConnection } from '../../../transports/apigateway/emulator.js';
import { MAX_PAYLOAD_BYTES } from '../../../transports/apigateway/limits.js';
import { transportContract, type ContractHarness, type PeerConnection } from '../../contract/transport.contract.js';
import { freePort, startSilentServer, until } from '../../helpers/net.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };

function peerOf(ws: WebSocket): PeerConnection {
  let got = '';
  ws.on('message', (d) => (got += d.toString()));
  return {
    async readText(length) {
      await until(() => got.length >= length, `${length} characters at the client`);
      return got;
    },
    send: (data) => new Promise<void>((resolve, reject) => ws.send(data, (e) => (e ? reject(e) : resolve()))),
    close: async () => ws.close(1000, 'client leaves'),
  };
}

transportContract(
  'apigateway',
  async (): Promise<ContractHarness> => {
    const emulator = await createApiGatewayEmulator();
    const silent = await startSilentServer();
    const client = new ApiGatewayManagementApiClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    const connected = new Promise<EmulatorConnection>((resolve) => {
      const off = emulator.on('connect', (c) => (off(), resolve(c)));
    });
    const ws = new WebSocket(emulator.url);
    ws.on('error', () => {});
    const { connectionId } = await connected;
    const refused = apiGatewayTransport({ connectionId, endpoint: `http://127.0.0.1:${await freePort()}/prod`, credentials });
    const hanging = apiGatewayTransport({ connectionId, endpoint: `http://127.0.0.1:${silent.port}/prod`, credentials });
    return {
      transport: apiGatewayTransport({ connectionId, client, checkIntervalMs: 20 }),
      nextPeer: async () => peerOf(ws),
      refused,
      hanging,
      maxMessageBytes: MAX_PAYLOAD_BYTES,
      async close() {
        ws.terminate();
        for (const c of [client, refused.client, hanging.client]) c.destroy();
        await emulator.close();
        await silent.close();
      },
    };
  },
  { sendOnly: "API Gateway delivers what a client sends to the API's $default route, not to the management API" },
).run();
