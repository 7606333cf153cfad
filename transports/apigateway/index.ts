/**
 * `statewire/apigateway`: API Gateway WebSocket connections (issue 13). The
 * transport and the manager load `@aws-sdk/client-apigatewaymanagementapi`
 * (an optional peer dependency); the emulator needs no AWS package.
 */
// Errors and limits.
export {
  ApiGatewayError,
  ConnectionGoneError,
  PayloadTooLargeError,
  RateLimitedError,
  apiGatewayError,
  isConnectionGone,
  type ApiGatewayErrorContext,
} from './errors.js';
export { MAX_PAYLOAD_BYTES, FRAME_BYTES, IDLE_TIMEOUT_MS, MAX_CONNECTION_MS, ACCOUNT_RPS, ACCOUNT_BURST } from './limits.js';
// The transport: one client connection as a Link.
export { apiGatewayTransport, type ApiGatewayTransport, type ApiGatewayTransportOptions } from './apigateway.transport.js';
export { type ApiGatewayLink, type ApiGatewayRetry } from './link.js';
// The manager (the seed's Manager): send, broadcast, isActive, progress, from any worker.
export {
  ApiGatewayManager,
  BroadcastError,
  ManagerClosedError,
  type ApiGatewayManagerOptions,
  type ApiGatewayMetrics,
  type BroadcastOptions,
  type BroadcastResult,
  type LatencySummary,
  type ManagementApiClient,
  type ProgressReporter,
  type RetryOptions,
} from './manager/index.js';
// Connection records.
export { type ConnectionStore, type ConnectionRecord, type ConnectionFilter } from './store.js';
export { MemoryConnectionStore, type MemoryConnectionStoreOptions } from './store/memory.js';
export { DynamoConnectionStore, type DynamoConnectionStoreOptions } from './store/dynamo.js';
export { connectionTableDefinition, createConnectionTable, type CreateTableOptions, type CreateTableResult } from './store/dynamo-table.js';
export type { StoreClock } from './store/record.js';
// The local emulator (no AWS needed).
export {
  createApiGatewayEmulator,
  type ApiGatewayEmulator,
  type ApiGatewayEmulatorEvents,
  type ApiGatewayEmulatorOptions,
  type EmulatorConnection,
  type EmulatorConnectRequest,
  type EmulatorDisconnect,
  type EmulatorDisconnectCause,
  type EmulatorMessage,
} from './emulator.js';
