import type { Socket } from 'node:net';
import { unixSocketTransport } from '../../../transports/unix/unix.transport.js';
import { held, transportContract, type ContractHarness, type PeerConnection } from '../../contract/transport.contract.js';
import { until } from '../../helpers/net.js';
import { rawUnixServer, tempDir } from '../../helpers/unix.js';

function peerOf(s: Socket): PeerConnection {
  let got = '';
  s.on('data', (d) => (got += d.toString()));
  return {
    async readText(length) {
      await until(() => got.length >= length, `${length} characters at the peer`);
      return got;
    },
    send: (data) => new Promise<void>((resolve, reject) => s.write(data, (e) => (e ? reject(e) : resolve()))),
    close: async () => void s.end(),
  };
}

transportContract('unix', async (): Promise<ContractHarness> => {
  const tmp = tempDir();
  const server = await rawUnixServer(tmp.path('peer.sock'));
  return {
    transport: unixSocketTransport({ path: tmp.path('peer.sock') }),
    nextPeer: async () => peerOf(await server.next()),
    refused: unixSocketTransport({ path: tmp.path('nobody.sock') }),
    hanging: held(unixSocketTransport({ path: tmp.path('peer.sock') })),
    async close() {
      await server.close();
      tmp.remove();
    },
  };
}).run();
