/**
 * API Gateway's WebSocket quotas that statewire enforces or emulates
 * (AWS docs, "Amazon API Gateway quotas for configuring and running a
 * WebSocket API"). KB there means 1024 bytes.
 */

/** Largest message `PostToConnection` takes (and a client may send): 128 KB. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;
/** Largest WebSocket frame API Gateway sends: a longer message goes out as fragments of this size. */
export const FRAME_BYTES = 32 * 1024;
/** A connection with no message from its client for this long is closed (1001 Going away). */
export const IDLE_TIMEOUT_MS = 10 * 60 * 1000;
/** No connection lives longer than this (1001 Going away). */
export const MAX_CONNECTION_MS = 2 * 60 * 60 * 1000;
/** The account's `@connections` request rate (per region), requests per second. */
export const ACCOUNT_RPS = 10_000;
/** The account's burst above that rate. */
export const ACCOUNT_BURST = 5_000;
