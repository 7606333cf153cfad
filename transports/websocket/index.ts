/**
 * `statewire/websocket`: the WebSocket client transport and the TaskLogHub.
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
