/**
 * A real DynamoDB-compatible server for tests: dynalite 4, in this process,
 * memory-backed (LevelDB in memory), on a loopback port 0, with the real AWS
 * SDK client pointed at it. Tables are ACTIVE as soon as created
 * (`createTableMs: 0`). `close()` destroys every client it made, then closes
 * the server (which closes its store).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/** dynalite's options we use (it ships no types): ms a table stays CREATING / DELETING / UPDATING. */
interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

const dynalite = createRequire(import.meta.url)('dynalite') as (options?: DynaliteOptions) => Server;

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** A client on the server (region us-east-1, dummy credentials, `maxAttempts: 1`: a failure shows at once). */
  client: DynamoDBClient;
  /** Another client on the same server, as a second worker would have. */
  newClient(): DynamoDBClient;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: DynamoDBClient[] = [];
  const newClient = () => {
    const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    clients.push(client);
    return client;
  };
  return {
    endpoint,
    client: newClient(),
    newClient,
    close: async () => {
      for (const client of clients) client.destroy();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
