/**
 * `statewire/tcp`: TCP and TLS clients, framing for byte streams.
 * Sections by part, so each part's exports stay together.
 */

// --- transport (tcp.transport.ts, tls.ts) ---
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

// --- framing (framing.ts) ---
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

// --- errors (errors.ts) ---
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
