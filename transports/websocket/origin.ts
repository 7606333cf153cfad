/**
 * Which web pages may open a WebSocket on a server of ours (TaskLogHub, the
 * visualizer's `/events`). A browser lets any page it shows open a WebSocket
 * to any host, 127.0.0.1 included, and says which page asked in the `Origin`
 * header; without a check, any site the user visits could read task logs or
 * drive connections (issue 11, defect 6).
 *
 * `originAllowed(req, allowedOrigins)` is true when:
 * - the request has no `Origin` header: not a browser (a `ws` client in Node,
 *   curl). Such a client can send any header it likes, so the check is no
 *   secret: use `TaskLogHub`'s `authorize` (a token) for that;
 * - the page is on the same host: the Origin's host (name and port) equals
 *   the request's `Host` header. The scheme is not compared, so a page served
 *   over https through a TLS-terminating proxy still matches;
 * - the Origin is one of `allowedOrigins`, exactly as a browser sends it:
 *   scheme, host, and port unless it is the scheme's default
 *   (`http://localhost:3000`; no path, no trailing slash).
 *
 * @example
 * ```ts
 * // Your own ws server, with the same rule (403 for another site's page):
 * const wss = new WebSocketServer({ server, verifyClient: ({ req }, done) => done(originAllowed(req, ['http://localhost:3000']), 403) });
 * ```
 */
import type { IncomingMessage } from 'node:http';
import * as check from '../../machines/ports/check.js';

/** `req`'s page may open a WebSocket here: no Origin, the same host, or one of `allowedOrigins`. */
export function originAllowed(req: IncomingMessage, allowedOrigins: readonly string[] = []): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowedOrigins.includes(origin)) return true;
  const host = req.headers.host;
  if (!host) return false;
  try {
    const page = new URL(origin);
    // `null` (a sandboxed frame, a file: page) has no host and never matches.
    if (page.origin === 'null') return false;
    // Parsed with the page's scheme, so `Host: localhost:80` and `http://localhost` agree.
    return page.host === new URL(`${page.protocol}//${host}`).host;
  } catch {
    return false;
  }
}

/**
 * `value` as a list of origins for `originAllowed`, or a TypeError naming the
 * bad entry: `options.allowedOrigins[0] must be an origin such as
 * "http://localhost:3000" (scheme, host, port; no path), got "http://localhost:3000/"`.
 */
export function checkAllowedOrigins(value: unknown, name: string): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of origins such as ["http://localhost:3000"], got ${check.describe(value)}`);
  return value.map((entry: unknown, i) => {
    let origin: string | undefined;
    try {
      origin = typeof entry === 'string' ? new URL(entry).origin : undefined;
    } catch {
      origin = undefined;
    }
    if (origin === undefined || origin === 'null' || origin !== entry) {
      throw new TypeError(`${name}[${i}] must be an origin such as "http://localhost:3000" (scheme, host, port; no path), got ${check.describe(entry)}`);
    }
    return origin;
  });
}
