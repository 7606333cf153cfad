import { SerialPort } from 'serialport';
import { serialTransport } from '../../../transports/serial/serial.transport.js';
import type { ConnectOptions, Link, Transport } from '../../../machines/ports/transport.js';
import { held, transportContract, type ContractHarness, type PeerConnection } from '../../contract/transport.contract.js';
import { until } from '../../helpers/net.js';
import { ptyPair, type PtyPair } from '../../helpers/pty.js';

/** The peer: a raw SerialPort on end B. Its close is a hang-up: socat dies, end A loses its other side. */
async function peerOn(pty: PtyPair, ports: SerialPort[]): Promise<PeerConnection> {
  const port = new SerialPort({ path: pty.b, baudRate: 9600, autoOpen: false });
  port.on('error', () => {});
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  ports.push(port);
  let got = '';
  port.on('data', (d: Buffer) => (got += d.toString()));
  return {
    async readText(length) {
      await until(() => got.length >= length, `${length} characters at the peer`);
      return got;
    },
    send: (data) => new Promise<void>((resolve, reject) => port.write(data, (e) => (e ? reject(e) : resolve()))),
    close: () => pty.kill(),
  };
}

/**
 * A serial port has no accept: the peer end can be opened at any time. It is
 * opened once the transport's connect resolved, so that nothing the peer
 * sends can be flushed by the open of end A.
 */
function announced(t: Transport, opened: Array<() => void>): Transport {
  return {
    kind: t.kind,
    connect: async (options: ConnectOptions): Promise<Link> => {
      const link = await t.connect(options);
      opened.shift()?.();
      return link;
    },
  };
}

transportContract('serial', async (): Promise<ContractHarness> => {
  const pty = await ptyPair();
  const opened: Array<() => void> = [];
  const peers: SerialPort[] = [];
  return {
    transport: announced(serialTransport({ path: pty.a }), opened),
    nextPeer: async () => {
      await new Promise<void>((r) => opened.push(r));
      return peerOn(pty, peers);
    },
    refused: serialTransport({ path: pty.path('nothing-here') }),
    hanging: held(serialTransport({ path: pty.a })),
    async close() {
      await Promise.all(peers.filter((p) => p.isOpen).map((p) => new Promise((r) => p.close(r))));
      await pty.close();
    },
  };
}).run();
