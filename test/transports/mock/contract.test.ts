import { mockTransport, type MockTransport } from '../../../transports/mock/mock.transport.js';
import { transportContract, type ContractHarness, type PeerConnection } from '../../contract/transport.contract.js';

const text = (d: string | Uint8Array) => (typeof d === 'string' ? d : Buffer.from(d).toString('utf8'));

/** The mock's peer side: `written` is what it received, `emit`/`drop` act as the peer. */
function peerOf(mock: MockTransport, from: number): PeerConnection {
  return {
    async readText(length) {
      const s = mock.written.slice(from).map(text).join('');
      if (s.length < length) throw new Error(`mock peer has ${s.length} of ${length} characters`);
      return s;
    },
    async send(data) {
      mock.emit(data);
    },
    async close() {
      mock.drop('peer closed');
    },
  };
}

transportContract('mock', async (): Promise<ContractHarness> => {
  const mock = mockTransport();
  const refused = mockTransport();
  refused.failNextConnects(1);
  const hanging = mockTransport();
  hanging.hangNextConnects(2);
  return {
    transport: mock,
    async nextPeer() {
      const from = mock.written.length;
      while (mock.opened === 0 || !mock.link) await new Promise((r) => setImmediate(r));
      return peerOf(mock, from);
    },
    refused,
    hanging,
    holdSends: () => mock.holdSends(),
    async close() {},
  };
}).run();
