/**
 * ApiGatewayManager makes its own SDK client from `WEBSOCKET_ENDPOINT` /
 * `AWS_REGION` (or the options): checked against a real HTTP server on
 * loopback that records what the SDK sent.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiGatewayManager } from '../../../transports/apigateway/manager/manager.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const test = suite('apigateway manager endpoint');
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };

interface Seen {
  method: string;
  url: string;
  body: string;
  authorization: string;
}

async function recorder(): Promise<{ server: Server; base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body: Buffer.concat(chunks).toString(), authorization: String(req.headers.authorization) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

test('endpoint: WEBSOCKET_ENDPOINT and AWS_REGION make the client; a ws:// URL is taken as http://; shutdown destroys it', async () => {
  const { server, base, seen } = await recorder();
  const manager = new ApiGatewayManager({
    env: { WEBSOCKET_ENDPOINT: `ws://${base}/dev`, AWS_REGION: 'eu-west-3' },
    clientConfig: { credentials },
  });
  await manager.send('abc=', { hello: 'world' });
  await manager.shutdown();
  await close(server);
  assert.is(seen.length, 1);
  assert.is(seen[0]!.method, 'POST');
  assert.is(seen[0]!.url, '/dev/@connections/abc%3D');
  assert.is(seen[0]!.body, '{"hello":"world"}');
  assert.match(seen[0]!.authorization, /Credential=AKIDTEST\/\d{8}\/eu-west-3\/execute-api\/aws4_request/);
});

test('endpoint: options win over the environment; one try per request (the manager, not the SDK, retries)', async () => {
  const { server, base, seen } = await recorder();
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res) => {
    req.resume();
    seen.push({ method: req.method!, url: req.url!, body: '', authorization: '' });
    res.writeHead(500, { 'content-type': 'application/json', 'x-amzn-errortype': 'InternalServerErrorException' }).end('{"message":"boom"}');
  });
  const manager = new ApiGatewayManager({
    endpoint: `http://${base}/prod`,
    region: 'us-east-1',
    env: { WEBSOCKET_ENDPOINT: 'http://127.0.0.1:1/never', AWS_REGION: 'xx' },
    clientConfig: { credentials },
  });
  const err = await manager.send('c1', 1).then(
    () => undefined,
    (e: Error & { code?: string; status?: number }) => e,
  );
  await manager.shutdown();
  await close(server);
  assert.is(err?.code, 'ERR_APIGW_REQUEST');
  assert.is(err?.status, 500);
  assert.equal(seen.map((s) => s.url), ['/prod/@connections/c1'], 'one request, to the endpoint of the options');
});

test('endpoint: the region is read from an execute-api endpoint when nothing else names it', async () => {
  // Nothing is sent: the client is made and destroyed.
  const manager = new ApiGatewayManager({ env: { WEBSOCKET_ENDPOINT: 'wss://abc123.execute-api.ap-south-1.amazonaws.com/prod' }, clientConfig: { credentials } });
  await manager.shutdown();
  assert.throws(() => new ApiGatewayManager({ env: { WEBSOCKET_ENDPOINT: 'https://example.com/prod' } }), /^options\.region must be an AWS region: .*https:\/\/example\.com\/prod does not name one/);
});

test.run();
