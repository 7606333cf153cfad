/** The transport contract on loopback: plain TCP, TLS 1.2 and TLS 1.3 (servers on port 0, certificates from openssl). */
import type { Socket } from 'node:net';
import { tcpTransport } from '../../../transports/tcp/tcp.transport.js';
import { held, transportContract, type ContractHarness, type PeerConnection } from '../../contract/transport.contract.js';
import { freePort, startSilentServer, until } from '../../helpers/net.js';
import { makeTestPki, tcpServer, tlsServer, type TestServer } from '../../helpers/tls.js';

function peerOf(s: Socket): PeerConnection {
  let got = '';
  s.on('data', (d: Buffer) => (got += d.toString()));
  return {
    async readText(length) {
      await until(() => got.length >= length, `${length} characters at the peer`);
      return got;
    },
    send: (data) => new Promise<void>((resolve, reject) => s.write(data, (e) => (e ? reject(e) : resolve()))),
    close: async () => void s.end(),
  };
}

transportContract('tcp', async (): Promise<ContractHarness> => {
  const server = await tcpServer();
  const port = server.port;
  return {
    transport: tcpTransport({ host: '127.0.0.1', port }),
    nextPeer: async () => peerOf(await server.next()),
    refused: tcpTransport({ host: '127.0.0.1', port: await freePort() }),
    // A loopback TCP connect completes at once: hold it until the caller aborts.
    hanging: held(tcpTransport({ host: '127.0.0.1', port })),
    close: () => server.close(),
  };
}).run();

// One set of certificates for both TLS suites, removed after the last.
const pki = makeTestPki();
for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  const suite = transportContract(`tcp+tls ${version}`, async (): Promise<ContractHarness> => {
    const server: TestServer = await tlsServer({ cert: pki.server.cert, key: pki.server.key, minVersion: version, maxVersion: version });
    // A server that accepts TCP and never answers the TLS ClientHello: a real hanging connect.
    const silent = await startSilentServer();
    const tls = { ca: pki.ca.cert };
    return {
      transport: tcpTransport({ host: 'localhost', port: server.port, tls }),
      nextPeer: async () => peerOf(await server.next()),
      refused: tcpTransport({ host: '127.0.0.1', port: await freePort(), tls }),
      hanging: tcpTransport({ host: '127.0.0.1', port: silent.port, tls }),
      async close() {
        await Promise.all([server.close(), silent.close()]);
      },
    };
  });
  if (version === 'TLSv1.3') suite.after(() => pki.remove());
  suite.run();
}
