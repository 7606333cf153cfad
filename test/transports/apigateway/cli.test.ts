import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { WebSocket } from 'ws';
import { spawnLines } from '../../helpers/spawn.js';
import { until } from '../../helpers/net.js';
import { credentials } from './helpers.js';

const test = suite('apigw-emulator cli');
const cliArgs = (...args: string[]) => ['--import', 'tsx', '-e', `import('./visualizer/cli.ts').then(async (m) => { process.exitCode = await m.main(${JSON.stringify(['apigw-emulator', ...args])}); })`];

test('statewire apigw-emulator: prints the ws URL, then the endpoint; a client and the SDK use them; SIGTERM stops it (clients: 1001)', async () => {
  const cli = spawnLines(process.execPath, cliArgs('--port', '0'));
  const sdk = { client: undefined as ApiGatewayManagementApiClient | undefined };
  try {
    const url = await cli.waitFor(/^ws:\/\/127\.0\.0\.1:\d+\/prod$/);
    const endpoint = await cli.waitFor(/^http:\/\//);
    assert.is(cli.lines.indexOf(url), 0);
    assert.is(endpoint, url.replace(/^ws:/, 'http:'));
    const ws = new WebSocket(url);
    ws.on('error', () => {});
    const got: string[] = [];
    ws.on('message', (d) => got.push(d.toString()));
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    await new Promise((r) => ws.once('open', r));
    await until(() => /connect \S+=/.test(cli.stderr()), 'the connect logged');
    const connectionId = /connect (\S+=)/.exec(cli.stderr())![1]!;
    sdk.client = new ApiGatewayManagementApiClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    await sdk.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('hello') }));
    await until(() => got.length === 1, 'the message');
    assert.equal(got, ['hello']);
    assert.is(await cli.kill('SIGTERM'), 0);
    assert.is(await closed, 1001);
    assert.match(cli.stderr(), /apigw-emulator stopped \(SIGTERM\)/);
  } finally {
    sdk.client?.destroy();
    await cli.kill('SIGKILL');
  }
});

test('statewire apigw-emulator: a bad --port or an unknown argument is a usage error (exit 2)', async () => {
  for (const args of [['--port', 'nope'], ['--port', '70000'], ['--verbose']]) {
    const cli = spawnLines(process.execPath, cliArgs(...args));
    assert.is(await cli.exited, 2, args.join(' '));
    assert.match(cli.stderr(), /usage: statewire/);
  }
});

test.run();
