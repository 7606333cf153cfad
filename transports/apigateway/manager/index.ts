/** `ApiGatewayManager` and what goes with it, re-exported by the `statewire/apigateway` entry. */
export { ApiGatewayManager, type BroadcastOptions, type BroadcastResult, type ProgressReporter } from './manager.js';
export type { ApiGatewayManagerOptions, ManagementApiClient, RetryOptions } from './options.js';
export { BroadcastError, ManagerClosedError } from './errors.js';
export type { ApiGatewayMetrics, LatencySummary } from './metrics.js';
