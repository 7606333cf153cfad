/** The connection stores of `statewire/apigateway` (re-exported by its entry). */
export type { ConnectionFilter, ConnectionRecord, ConnectionStore } from '../store.js';
export { MemoryConnectionStore, type MemoryConnectionStoreOptions } from './memory.js';
export { DynamoConnectionStore, type DynamoConnectionStoreOptions } from './dynamo.js';
export { connectionTableDefinition, createConnectionTable, type CreateTableOptions, type CreateTableResult } from './dynamo-table.js';
export type { StoreClock } from './record.js';
