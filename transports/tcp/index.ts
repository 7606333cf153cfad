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
