/**
 * The DynamoDB table behind `DynamoConnectionStore`: its layout, the items
 * written to it, and `createConnectionTable`.
 *
 * One table, two kinds of item, one global secondary index (a single-table
 * layout: DynamoDB cannot index the members of a list, so each tag gets an
 * item of its own, an "inverted index" of membership items).
 *
 * ```
 * table  PK connectionId (S)   SK sk (S)
 * index  byGroup: PK groupKey (S)   SK connectionId (S)   projection ALL
 *
 * item        connectionId  sk           groupKey         other attributes
 * record      abc=          "record"     "room#lobby"     connectedAt N, lastPingAt N, tags L<S>,
 *                                        (only with room) room S, data S (JSON), expiresAt N
 * membership  abc=          "tag#user:7" "tag#user:7"     expiresAt N (the record's)
 * ```
 *
 * - `get`, `delete`, `updateLastPing` address the record item by its key
 *   (`connectionId`, `"record"`); `get` reads consistently.
 * - `list({ room })` queries `byGroup` for `room#<room>`: the record items
 *   themselves (the index is sparse: a record without a room is not in it).
 * - `list({ tag })` queries `byGroup` for `tag#<tag>` (the membership items),
 *   then reads those records (BatchGetItem) and keeps those whose `tags`
 *   still hold the tag: the record item is the truth, membership items are
 *   an index that may say more (a replace or delete in progress, a cleanup
 *   that failed), never less once a `put` has resolved: a writer that
 *   removed memberships reads the record again and restores those a
 *   concurrent `put` of the same id still needs (there are no transactions
 *   to lean on: dynalite has no TransactWriteItems).
 * - `list()` scans the table for record items: fine for a dashboard, but
 *   broadcasts should select by tag or room.
 * - `expiresAt` (seconds since the epoch) is the TTL attribute, on record
 *   and membership items alike, so DynamoDB deletes both. TTL deletion is
 *   lazy (AWS deletes within days, not at the second), so every read also
 *   leaves out items whose `expiresAt` has passed.
 * - `data` is kept as its JSON text: a round trip returns exactly what
 *   JSON.stringify wrote, whatever the shape.
 *
 * The SDK is loaded on first use (`import()`): `@aws-sdk/client-dynamodb` is
 * an optional peer dependency, and a user of the memory store need not
 * install it.
 */
import type { AttributeValue, CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ConnectionRecord } from '../store.js';

/** A DynamoDB item, as the low-level client reads and writes it. */
export type Item = Record<string, AttributeValue>;

/** The global secondary index over `groupKey`. */
export const INDEX_NAME = 'byGroup';
/** `sk` of a record item. */
export const RECORD_SK = 'record';

export const tagGroup = (tag: string) => `tag#${tag}`;
export const roomGroup = (room: string) => `room#${room}`;

/** The client module, loaded when a Dynamo store first needs it. */
export const sdk = (): Promise<typeof import('@aws-sdk/client-dynamodb')> => import('@aws-sdk/client-dynamodb');

export const recordKey = (connectionId: string): Item => ({ connectionId: { S: connectionId }, sk: { S: RECORD_SK } });
export const tagKey = (connectionId: string, tag: string): Item => ({ connectionId: { S: connectionId }, sk: { S: tagGroup(tag) } });

/** The record item for a checked record (only the members it has). */
export function recordItem(record: ConnectionRecord): Item {
  const item: Item = {
    ...recordKey(record.connectionId),
    connectedAt: { N: String(record.connectedAt) },
    lastPingAt: { N: String(record.lastPingAt) },
  };
  if (record.tags !== undefined) item.tags = { L: record.tags.map((tag) => ({ S: tag })) };
  if (record.room !== undefined) {
    item.room = { S: record.room };
    item.groupKey = { S: roomGroup(record.room) };
  }
  if (record.data !== undefined) item.data = { S: JSON.stringify(record.data) };
  if (record.expiresAt !== undefined) item.expiresAt = { N: String(record.expiresAt) };
  return item;
}

/** The membership item saying `record` has `tag`. */
export function tagItem(record: ConnectionRecord, tag: string): Item {
  const item: Item = { ...tagKey(record.connectionId, tag), groupKey: { S: tagGroup(tag) } };
  if (record.expiresAt !== undefined) item.expiresAt = { N: String(record.expiresAt) };
  return item;
}

/** The record a record item holds. */
export function recordFromItem(item: Item): ConnectionRecord {
  const record: ConnectionRecord = {
    connectionId: item.connectionId?.S ?? '',
    connectedAt: Number(item.connectedAt?.N),
    lastPingAt: Number(item.lastPingAt?.N),
  };
  if (item.tags?.L) record.tags = item.tags.L.map((v) => v.S ?? '');
  if (item.room?.S !== undefined) record.room = item.room.S;
  if (item.data?.S !== undefined) record.data = JSON.parse(item.data.S) as Record<string, unknown>;
  if (item.expiresAt?.N !== undefined) record.expiresAt = Number(item.expiresAt.N);
  return record;
}

/** The tags a record item holds (none when it has none). */
export const tagsOfItem = (item: Item | undefined): string[] => item?.tags?.L?.map((v) => v.S ?? '') ?? [];

/**
 * The CreateTable input for a connection table: the layout above, billed
 * per request. For infrastructure as code (CDK, Terraform), copy its keys
 * and index, and set the TTL attribute to `expiresAt`.
 */
export function connectionTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'connectionId', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'groupKey', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'connectionId', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: INDEX_NAME,
        KeySchema: [
          { AttributeName: 'groupKey', KeyType: 'HASH' },
          { AttributeName: 'connectionId', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

/** What `createConnectionTable` did. */
export interface CreateTableResult {
  /** False when the table was there already (it is then left as it is, apart from TTL). */
  created: boolean;
  /**
   * True when DynamoDB TTL is on for `expiresAt` (it was, or this call
   * turned it on). False when the server has no UpdateTimeToLive: dynalite
   * answers UnknownOperationException. Expired records are left out on read
   * either way; without TTL they stay in the table.
   */
  ttlEnabled: boolean;
}

export interface CreateTableOptions {
  /** Longest wait for the table to become ACTIVE, seconds. Default 300. */
  maxWaitSeconds?: number;
}

/** Create the table and its index if missing, wait until it is ACTIVE, and turn TTL on for `expiresAt`. */
export async function createConnectionTable(client: DynamoDBClient, tableName: string, options: CreateTableOptions = {}): Promise<CreateTableResult> {
  const { CreateTableCommand, DescribeTimeToLiveCommand, UpdateTimeToLiveCommand, waitUntilTableExists } = await sdk();
  let created = true;
  try {
    await client.send(new CreateTableCommand(connectionTableDefinition(tableName)));
  } catch (err) {
    if ((err as Error).name !== 'ResourceInUseException') throw err;
    created = false;
  }
  // The first poll is immediate; later ones back off from 0.25 s to 5 s.
  await waitUntilTableExists({ client, maxWaitTime: options.maxWaitSeconds ?? 300, minDelay: 0.25, maxDelay: 5 }, { TableName: tableName });
  try {
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    const d = ttl.TimeToLiveDescription;
    if (d?.AttributeName === 'expiresAt' && (d.TimeToLiveStatus === 'ENABLED' || d.TimeToLiveStatus === 'ENABLING')) return { created, ttlEnabled: true };
    await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }));
    return { created, ttlEnabled: true };
  } catch (err) {
    // dynalite 4 answers DescribeTimeToLive (DISABLED) but has no UpdateTimeToLive.
    if ((err as Error).name === 'UnknownOperationException') return { created, ttlEnabled: false };
    throw err;
  }
}
