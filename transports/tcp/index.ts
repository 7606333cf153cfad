/**
 * `statewire/tcp`: TCP and TLS (issue 14). One section per part of the issue.
 */

// Certificates (§3): a development CA with server and client certificates for (mutual) TLS.
export {
  createDevCertificates,
  writeDevCertificates,
  DEV_CERTIFICATE_FILES,
  type DevCertificates,
  type DevCertificatesOptions,
  type DevCertificatePaths,
  type PemPair,
} from './certs.js';

// The client transport (§1): TCP, or TLS with `tls`; errors say which TLS check failed.
export { tcpTransport, type TcpTransportOptions, type TcpTlsOptions, type TlsSession } from './tcp.transport.js';
export { TcpError, TlsVerificationError, tcpConnectError, type TlsCheck } from './errors.js';
// The server side (§2): a raw Listener, and the supervised listener.
export { tcpServer, type TcpServerOptions, type TcpServerTlsOptions } from './tcp.server.js';
export { createListener, type TcpListener, type TcpListenerOptions, type TcpBroadcastResult } from './listener/listener.js';
// The seed's ConnectionManager (§1): one cached, supervised connection per server.
export {
  ConnectionManager,
  CacheKeyConflictError,
  type ConnectionManagerOptions,
  type ManagerConnectOptions,
  type NetworkEvent,
  type ServerLocation,
} from './manager/connection-manager.js';
