/**
 * `statewire/tcp`: TCP and TLS (issue 14). One section per part of the issue.
 */

// Client transport (§1): TCP or TLS links with typed errors, the TLS session, network events.
export {
  tcpTransport,
  checkHost,
  checkPort,
  DEFAULT_MAX_BUFFERED_BYTES,
  type TcpTransport,
  type TcpTransportOptions,
  type TcpLink,
  type TcpLinkInfo,
  type TcpAddress,
  type TcpNetworkEvent,
} from './tcp.transport.js';
export type { TcpTlsOptions, TlsSessionInfo, PeerCertificateInfo, Pem, TlsVersion } from './tls.js';

// Framing (§1): byte streams into frames, per connection.
export {
  lengthPrefixed,
  delimited,
  encodeLengthPrefixed,
  encodeDelimited,
  LengthPrefixedDecoder,
  DelimitedDecoder,
  DEFAULT_MAX_FRAME_BYTES,
  type LengthPrefixedOptions,
  type DelimitedOptions,
  type PrefixBytes,
} from './framing.js';

// Errors of the transport and the framing.
export {
  TcpError,
  TcpConnectionRefusedError,
  TcpTimeoutError,
  HostNotFoundError,
  HostUnreachableError,
  TcpConnectionResetError,
  TcpBufferOverflowError,
  TlsVerificationError,
  TlsHandshakeError,
  TruncatedFrameError,
  tcpError,
  type TcpErrorContext,
  type TlsCheck,
  type TlsHandshakeReason,
} from './errors.js';
export { FrameTooLargeError } from './framing.js';

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
