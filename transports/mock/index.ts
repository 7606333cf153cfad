/**
 * `statewire/testing`: fakes and helpers for tests of apps built on statewire.
 * Production entry points never import this file.
 */
export { mockTransport, type MockTransport, type MockTransportOptions } from './mock.transport.js';
export { seededRandom } from '../../machines/backoff.js';
export { flush } from './flush.js';
