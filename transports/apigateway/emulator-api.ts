/**
 * The emulator's management API: API Gateway's `@connections` routes, spoken
 * the way the AWS SDK expects them (restJson1). The path may start with any
 * stage (`/prod/@connections/{id}`, `/@connections/{id}`); the id is
 * URL-encoded by the SDK. Signatures (SigV4) are not checked.
 *
 * - `POST` (body: the message) → 200; 410 `GoneException` for an unknown or
 *   closed connection; 413 `PayloadTooLargeException` over `maxPayload`.
 * - `GET` → 200 `{ connectedAt, identity: { sourceIp, userAgent }, lastActiveAt }`
 *   (ISO 8601 strings; the SDK's `GetConnectionCommand` reads them as
 *   `ConnectedAt`, `Identity`, `LastActiveAt`); 410 when unknown.
 * - `DELETE` → 204 (the client's socket is closed); 410 when unknown.
 * - 429 `LimitExceededException` when the token bucket is empty; 403
 *   `ForbiddenException` for any other path or method; 400 for an id that
 *   does not decode.
 *
 * Errors carry `x-amzn-errortype` and a JSON `{ "message": ... }` body, so
 * the SDK throws its own classes (`GoneException`, ...). Nothing a client
 * sends can throw out of here.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the HTTP side needs of the emulator. */
export interface ManagementBackend {
  readonly maxPayload: number;
  /** Bytes read at most before the request is cut off (its 413 closes the HTTP connection). */
  readonly maxRequestBytes: number;
  /** Take a token from the rate limiter: false answers 429. */
  admit(): boolean;
  /** Deliver `body` to the client; `done(false)` when the connection is unknown or closed. */
  post(connectionId: string, body: Buffer, done: (delivered: boolean) => void): void;
  info(connectionId: string): { connectedAt: number; lastActiveAt: number; sourceIp: string; userAgent: string } | undefined;
  /** Close the client's socket: false when the connection is unknown. */
  delete(connectionId: string): boolean;
}

const ROUTE = /\/(?:@|%40)connections\/([^/]+)$/;

/** Answer an error the way API Gateway does: status, `x-amzn-errortype`, `{ message }`. */
export function sendError(res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ message });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-amzn-errortype': type,
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(body);
}

function sendOk(res: ServerResponse, status: number, json?: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const body = json === undefined ? '' : JSON.stringify(json);
  const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(body)), 'x-amzn-requestid': randomUUID() };
  if (json !== undefined) headers['content-type'] = 'application/json';
  res.writeHead(status, headers);
  res.end(body);
}

const gone = (res: ServerResponse) => sendError(res, 410, 'GoneException', 'Gone');
const iso = (ms: number) => new Date(ms).toISOString();

/** The request listener for the management API. */
export function managementApi(backend: ManagementBackend): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    const path = (req.url ?? '').split('?')[0]!;
    const match = ROUTE.exec(path);
    const method = req.method ?? '';
    if (!match || !['POST', 'GET', 'DELETE'].includes(method)) {
      req.resume();
      return sendError(res, 403, 'ForbiddenException', 'Forbidden');
    }
    let connectionId: string;
    try {
      connectionId = decodeURIComponent(match[1]!);
    } catch {
      req.resume();
      return sendError(res, 400, 'BadRequestException', 'Invalid connection id');
    }
    if (!backend.admit()) {
      req.resume();
      return sendError(res, 429, 'LimitExceededException', 'Rate exceeded');
    }
    if (method === 'POST') return readBody(req, res, backend, (body) => {
      if (body === undefined) return sendError(res, 413, 'PayloadTooLargeException', `Message too long: the limit is ${backend.maxPayload} bytes`);
      backend.post(connectionId, body, (delivered) => (delivered ? sendOk(res, 200) : gone(res)));
    });
    req.resume();
    if (method === 'GET') {
      const info = backend.info(connectionId);
      if (!info) return gone(res);
      return sendOk(res, 200, {
        connectedAt: iso(info.connectedAt),
        identity: { sourceIp: info.sourceIp, userAgent: info.userAgent },
        lastActiveAt: iso(info.lastActiveAt),
      });
    }
    return backend.delete(connectionId) ? sendOk(res, 204) : gone(res);
  };
}

/**
 * Read a POST body: `done(bytes)`, or `done(undefined)` when it was over
 * `maxPayload` (read and dropped, so the HTTP connection stays usable). Past
 * `maxRequestBytes` it stops reading, answers 413 and closes the connection.
 */
function readBody(req: IncomingMessage, res: ServerResponse, backend: ManagementBackend, done: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let cut = false;
  req.on('data', (chunk: Buffer) => {
    if (cut) return;
    size += chunk.length;
    if (size > backend.maxRequestBytes) {
      cut = true;
      chunks.length = 0;
      sendError(res, 413, 'PayloadTooLargeException', `Message too long: the limit is ${backend.maxPayload} bytes`, { connection: 'close' });
      req.pause();
      return;
    }
    if (size <= backend.maxPayload) chunks.push(chunk);
    else chunks.length = 0;
  });
  req.on('end', () => {
    if (!cut) done(size > backend.maxPayload ? undefined : Buffer.concat(chunks, size));
  });
}
