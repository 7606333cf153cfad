import type { WebSocket } from 'ws';
import { webSocketTransport } from '../../../transports/websocket/websocket.transport.js';
import { transportContract, type ContractHarness, type PeerConnection } from '../../contract/transport.contract.js';
import { freePort, startSilentServer, startWsServer, until } from '../../helpers/net.js';

function peerOf(ws: WebSocket): PeerConnection {
  let got = '';
  ws.on('message', (d) => (got += d.toString()));
  return {
    async readText(length) {
      await until(() => got.length >= length, `${length} characters at the peer`);
      return got;
    },
    send: (data) => new Promise<void>((resolve, reject) => ws.send(data, (e) => (e ? reject(e) : resolve()))),
    close: async () => ws.close(1001, 'peer going away'),
  };
}

transportContract('websocket', async (): Promise<ContractHarness> => {
  const server = await startWsServer();
  const silent = await startSilentServer();
  return {
    transport: webSocketTransport({ url: server.url }),
    nextPeer: async () => peerOf(await server.nextSocket()),
    refused: webSocketTransport({ url: `ws://127.0.0.1:${await freePort()}` }),
    hanging: webSocketTransport({ url: `ws://127.0.0.1:${silent.port}` }),
    async close() {
      await server.close();
      await silent.close();
    },
  };
}).run();
