/** `statewire/unix`: UNIX-socket transport and listener, the edge agent and the EdgeClient. */
export { unixSocketTransport, DEFAULT_MAX_BUFFERED_BYTES, type UnixSocketTransportOptions } from './unix.transport.js';
export { unixSocketServer, claimSocketPath, type UnixSocketServerOptions } from './unix.server.js';
export { unixSocketListener, type UnixSocketListener, type UnixSocketListenerOptions, type AcceptedConnection } from './listener/listener.js';
export { EdgeAgentServer, type EdgeAgentServerOptions } from './edge/edge-agent.js';
export {
  memorySeenStore,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_SESSION_TTL_MS,
  type MemorySeenStore,
  type MemorySeenStoreOptions,
  type SeenStore,
} from './edge/seen-store.js';
export { EdgeClient, withEdgeClient, DEFAULT_EDGE_SOCKET, type EdgeConfig } from './edge/edge-client.js';
export { Severity, SEVERITIES, type EdgeEvent } from './edge/edge-protocol.js';
export { LineDecoder, DEFAULT_MAX_FRAME_BYTES } from './ndjson.js';
export {
  AddressInUseError,
  FrameTooLargeError,
  UnixSocketError,
  SocketFileNotFoundError,
  SocketPermissionDeniedError,
  SocketConnectionError,
  SocketNotConnectedError,
  SocketBrokenPipeError,
  SocketBufferOverflowError,
  SocketCommunicationError,
} from './errors.js';
