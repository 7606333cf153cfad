/**
 * `statewire/websocket`: the WebSocket client transport and the TaskLogHub
 * (with its Redis adapter, for hubs in several processes).
 */
export {
  webSocketTransport,
  type WebSocketTransport,
  type WebSocketTransportOptions,
  type WebSocketProviderContext,
  type WebSocketUrlProvider,
  type WebSocketHeadersProvider,
} from './websocket.transport.js';
export { wrapWebSocket, type WebSocketLink, type WebSocketLinkOptions } from './link.js';
export {
  TaskLogHub,
  LOG_LEVELS,
  type DisconnectReason,
  type LogLevel,
  type SendLogOptions,
  type SendLogResult,
  type TaskLogHubEvent,
  type TaskLogHubOptions,
  type TaskLogMessage,
} from './task-logs/task-log-hub.js';
export { defaultTaskIdFrom, type AttachOptions } from './task-logs/attach.js';
export { originAllowed } from './origin.js';
export { HubClosedError, PongTimeoutError, SocketNotOpenError, WebSocketHandshakeError } from './errors.js';

// TaskLogHub past one process (issue 16): the adapter seam, the Redis adapter, its Redis link and errors.
export type {
  AdapterDropReason,
  AdapterHubEvent,
  AdapterViewer,
  TaskLogHubAdapter,
  TaskLogHubAdapterHost,
  TaskLogHubBinding,
  UnnumberedLine,
} from './task-logs/adapter.js';
export { redisHubAdapter, type RedisHubAdapterOptions } from './task-logs/redis/redis-hub-adapter.js';
export { encodeRedisCommand, redisTransport, type RedisClientLike, type RedisTransport, type RedisTransportOptions } from './redis.transport.js';
export {
  RedisAdapterClosedError,
  RedisBacklogFullError,
  RedisCommandError,
  RedisConnectionError,
  RedisTimeoutError,
} from './redis-errors.js';
