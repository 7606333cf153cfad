/**
 * `ConnectionStore` on DynamoDB: the store any number of workers share (the
 * seed keeps its connection records there). The table layout, its index for
 * tags and rooms, and TTL are described in `dynamo-table.ts`.
 *
 * What holds across workers:
 * - `delete` is exactly-once: a conditional DeleteItem (the record exists and
 *   has not expired), so when two workers delete one id, one call resolves
 *   true and the other false.
 * - `updateLastPing` never creates a record: a conditional UpdateItem; on a
 *   missing (or expired) record it does nothing.
 * - `put` replaces the record item in one write; the tag membership items
 *   follow it, and readers check each against its record.
 *
 * Requests go through the client you pass (its region, credentials, retries
 * and `maxAttempts`); failures other than a failed condition reject with the
 * SDK's own error.
 *
 * @example
 * ```ts
 * const client = new DynamoDBClient({ region: 'eu-west-1' });
 * const store = new DynamoConnectionStore({ client, tableName: 'connections', ttlSeconds: 2 * 60 * 60 });
 * await store.createTable(); // once, at deploy time; or create it as in connectionTableDefinition()
 * await store.put({ connectionId, connectedAt: Date.now(), lastPingAt: Date.now(), tags: ['user:42'] });
 * const targets = await store.list({ tag: 'user:42' });
 * ```
 */
import type { DynamoDBClient, WriteRequest } from '@aws-sdk/client-dynamodb';
import * as check from '../../../machines/ports/check.js';
import type { ConnectionFilter, ConnectionRecord, ConnectionStore } from '../store.js';
import {
  createConnectionTable,
  INDEX_NAME,
  RECORD_SK,
  recordFromItem,
  recordItem,
  recordKey,
  roomGroup,
  sdk,
  tagGroup,
  tagItem,
  tagKey,
  tagsOfItem,
  type CreateTableOptions,
  type CreateTableResult,
  type Item,
} from './dynamo-table.js';
import { checkConnectionId, checkFilter, checkRecord, checkTime, expired, storeClock, ttlOption, type StoreClock } from './record.js';

/** Options of `DynamoConnectionStore`. */
export interface DynamoConnectionStoreOptions {
  /** The low-level client (`new DynamoDBClient({ region })`); the store never destroys it. */
  client: DynamoDBClient;
  /** The table (3 to 255 characters of `a-z A-Z 0-9 _ - .`). */
  tableName: string;
  /**
   * A record `put` without `expiresAt` expires this many seconds after it was
   * put. Default: none (such a record never expires).
   * @example { ttlSeconds: 2 * 60 * 60 } // API Gateway's 2-hour connection limit
   */
  ttlSeconds?: number;
  /** Where `now` comes from, ms (for TTL; XState's `SimulatedClock` in tests). Default: real time. */
  clock?: StoreClock;
  /**
   * Items read per Query or Scan request (DynamoDB's `Limit`). Default: no
   * limit, DynamoDB's 1 MB pages. `list` reads every page either way.
   */
  pageSize?: number;
}

/** BatchGetItem takes at most 100 keys, BatchWriteItem 25 requests. */
const BATCH_GET = 100;
const BATCH_WRITE = 25;

const conditionFailed = (err: unknown) => (err as Error | null)?.name === 'ConditionalCheckFailedException';

function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

export class DynamoConnectionStore implements ConnectionStore {
  readonly tableName: string;
  readonly #client: DynamoDBClient;
  readonly #clock: StoreClock;
  readonly #ttlSeconds: number | undefined;
  readonly #pageSize: number | undefined;

  constructor(options: DynamoConnectionStoreOptions) {
    check.object(options, 'options', '{ client, tableName, ttlSeconds?, clock?, pageSize? }');
    this.#client = check.hasMethods(options.client, 'options.client', ['send'], '(a DynamoDBClient from @aws-sdk/client-dynamodb)');
    const name = check.nonEmptyString(options.tableName, 'options.tableName');
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(name)) throw new RangeError(`options.tableName must be 3 to 255 characters of a-z, A-Z, 0-9, _, - and ., got ${check.describe(name)}`);
    this.tableName = name;
    this.#ttlSeconds = ttlOption(options.ttlSeconds);
    this.#clock = storeClock(options.clock);
    this.#pageSize = options.pageSize === undefined ? undefined : check.integer(options.pageSize, 'options.pageSize', { min: 1 });
  }

  /**
   * Create the table and its index if they are missing, wait until the table
   * is ACTIVE, and turn TTL on for `expiresAt` (`ttlEnabled: false` when the
   * server cannot, as dynalite cannot). Safe to call again.
   */
  createTable(options?: CreateTableOptions): Promise<CreateTableResult> {
    return createConnectionTable(this.#client, this.tableName, options);
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    const id = checkConnectionId(connectionId);
    const { GetItemCommand } = await sdk();
    const { Item } = await this.#client.send(new GetItemCommand({ TableName: this.tableName, Key: recordKey(id), ConsistentRead: true }));
    if (!Item) return undefined;
    const record = recordFromItem(Item);
    return expired(record.expiresAt, this.#clock.now()) ? undefined : record;
  }

  async put(record: ConnectionRecord): Promise<void> {
    const stored = checkRecord(record, this.#clock.now(), this.#ttlSeconds);
    const { PutItemCommand } = await sdk();
    const { Attributes: old } = await this.#client.send(
      new PutItemCommand({ TableName: this.tableName, Item: recordItem(stored), ReturnValues: 'ALL_OLD' }),
    );
    // Every membership is written again (it carries expiresAt, and this repairs one a failed put left out);
    // those of tags the record no longer has are deleted.
    const tags = new Set(stored.tags);
    const removed = [...new Set(tagsOfItem(old))].filter((tag) => !tags.has(tag));
    await this.#write([
      ...[...tags].map((tag) => ({ PutRequest: { Item: tagItem(stored, tag) } })),
      ...removed.map((tag) => ({ DeleteRequest: { Key: tagKey(stored.connectionId, tag) } })),
    ]);
    await this.#restore(stored.connectionId, removed);
  }

  async delete(connectionId: string): Promise<boolean> {
    const id = checkConnectionId(connectionId);
    const { DeleteItemCommand } = await sdk();
    let old: Item | undefined;
    try {
      ({ Attributes: old } = await this.#client.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: recordKey(id), ReturnValues: 'ALL_OLD', ...this.#liveCondition() }),
      ));
    } catch (err) {
      if (conditionFailed(err)) return false; // not there, expired, or another caller removed it first
      throw err;
    }
    const removed = [...new Set(tagsOfItem(old))];
    try {
      await this.#write(removed.map((tag) => ({ DeleteRequest: { Key: tagKey(id, tag) } })));
      await this.#restore(id, removed);
    } catch {
      // The record is gone, and that is what this call reports. A membership item left behind
      // is ignored on read (its record is missing) and expires with the record's TTL.
    }
    return true;
  }

  async updateLastPing(connectionId: string, at?: number): Promise<void> {
    const id = checkConnectionId(connectionId);
    const time = checkTime(at, 'at') ?? this.#clock.now();
    const { UpdateItemCommand } = await sdk();
    const live = this.#liveCondition();
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: recordKey(id),
          UpdateExpression: 'SET #ping = :at',
          ConditionExpression: live.ConditionExpression,
          ExpressionAttributeNames: { ...live.ExpressionAttributeNames, '#ping': 'lastPingAt' },
          ExpressionAttributeValues: { ...live.ExpressionAttributeValues, ':at': { N: String(time) } },
        }),
      );
    } catch (err) {
      if (!conditionFailed(err)) throw err; // missing or expired: nothing to update, nothing created
    }
  }

  async list(filter?: ConnectionFilter): Promise<ConnectionRecord[]> {
    const f = checkFilter(filter);
    const nowMs = this.#clock.now();
    const { ScanCommand, QueryCommand } = await sdk();
    const notExpired = 'attribute_not_exists(#exp) OR #exp > :now';
    const now = { ':now': { N: String(nowMs / 1000) } };
    if (f === undefined) {
      const items = await this.#pages((page) =>
        this.#client.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: `#sk = :record AND (${notExpired})`,
            ExpressionAttributeNames: { '#sk': 'sk', '#exp': 'expiresAt' },
            ExpressionAttributeValues: { ':record': { S: RECORD_SK }, ...now },
            ...page,
          }),
        ),
      );
      return items.map(recordFromItem);
    }
    const group = 'room' in f ? roomGroup(f.room) : tagGroup(f.tag);
    const items = await this.#pages((page) =>
      this.#client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX_NAME,
          KeyConditionExpression: '#g = :g',
          FilterExpression: notExpired,
          ExpressionAttributeNames: { '#g': 'groupKey', '#exp': 'expiresAt' },
          ExpressionAttributeValues: { ':g': { S: group }, ...now },
          ...page,
        }),
      ),
    );
    if ('room' in f) return items.map(recordFromItem);
    // Membership items name the records; each record is the truth about its tags.
    const ids = [...new Set(items.map((item) => item.connectionId?.S).filter((id): id is string => !!id))];
    const records = (await this.#recordItems(ids)).map(recordFromItem);
    return records.filter((r) => !expired(r.expiresAt, nowMs) && r.tags?.includes(f.tag));
  }

  /**
   * After deleting the memberships of `removed` tags: a `put` of the same id
   * that ran meanwhile may have written one of them for its newer record, and
   * the delete may have landed after it. Read the record now (consistently)
   * and write back the memberships it still has, so that once a `put` has
   * resolved its tags are listed, whatever ran alongside it. Costs one read,
   * only when tags were removed.
   */
  async #restore(connectionId: string, removed: string[]): Promise<void> {
    if (removed.length === 0) return;
    const { GetItemCommand } = await sdk();
    const { Item } = await this.#client.send(new GetItemCommand({ TableName: this.tableName, Key: recordKey(connectionId), ConsistentRead: true }));
    if (!Item) return;
    const current = recordFromItem(Item);
    const back = removed.filter((tag) => current.tags?.includes(tag));
    await this.#write(back.map((tag) => ({ PutRequest: { Item: tagItem(current, tag) } })));
  }

  /** The record item exists and has not expired: the condition of `delete` and `updateLastPing`. */
  #liveCondition() {
    return {
      ConditionExpression: 'attribute_exists(#id) AND (attribute_not_exists(#exp) OR #exp > :now)',
      ExpressionAttributeNames: { '#id': 'connectionId', '#exp': 'expiresAt' },
      ExpressionAttributeValues: { ':now': { N: String(this.#clock.now() / 1000) } },
    };
  }

  /**
   * Every item of a Scan or Query, page after page: `request(page)` sends one
   * request with `page` spread in (`Limit` when `pageSize` is set, and the
   * previous page's LastEvaluatedKey as `ExclusiveStartKey`).
   */
  async #pages(request: (page: { Limit?: number; ExclusiveStartKey?: Item }) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await request({ ...(this.#pageSize !== undefined && { Limit: this.#pageSize }), ...(start && { ExclusiveStartKey: start }) });
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * The record items of `ids` that exist, 100 keys per BatchGetItem. Keys
   * DynamoDB leaves unprocessed (throttled) are read one by one, so the
   * client's own retry and backoff apply to them.
   */
  async #recordItems(ids: string[]): Promise<Item[]> {
    const { BatchGetItemCommand, GetItemCommand } = await sdk();
    const items: Item[] = [];
    for (const chunk of chunks(ids, BATCH_GET)) {
      const out = await this.#client.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: chunk.map(recordKey) } } }));
      items.push(...(out.Responses?.[this.tableName] ?? []));
      for (const Key of out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) {
        const { Item } = await this.#client.send(new GetItemCommand({ TableName: this.tableName, Key }));
        if (Item) items.push(Item);
      }
    }
    return items;
  }

  /** Puts and deletes, 25 per BatchWriteItem; requests left unprocessed are sent one by one (the client's retry applies). */
  async #write(requests: WriteRequest[]): Promise<void> {
    if (requests.length === 0) return;
    const { BatchWriteItemCommand, PutItemCommand, DeleteItemCommand } = await sdk();
    for (const chunk of chunks(requests, BATCH_WRITE)) {
      const out = await this.#client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: chunk } }));
      for (const left of out.UnprocessedItems?.[this.tableName] ?? []) {
        if (left.PutRequest?.Item) await this.#client.send(new PutItemCommand({ TableName: this.tableName, Item: left.PutRequest.Item }));
        else if (left.DeleteRequest?.Key) await this.#client.send(new DeleteItemCommand({ TableName: this.tableName, Key: left.DeleteRequest.Key }));
      }
    }
  }
}
