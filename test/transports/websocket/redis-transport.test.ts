/**
 * The Redis link (issue 16) against a real redis-server: commands and their
 * replies in order, error replies, what a link does before it counts as
 * open (scripts, subscriptions), how links end, and bad options. (The
 * shared contract suite sends arbitrary text; a Redis link takes command
 * lines, so it has these cases of its own.)
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import type { Link, Payload } from '../../../machines/ports/transport.js';
import { ConnectionError, LinkClosedError } from '../../../machines/ports/errors.js';
import { RedisConnectionError, encodeRedisCommand as cmd, redisTransport } from '../../../transports/websocket/index.js';
import { freePort, startSilentServer, until } from '../../helpers/net.js';
import { hasRedisServer, startRedis, type TestRedis } from '../../helpers/redis.js';

const test = suite('redis transport');
let redis: TestRedis;
const links: Link[] = [];
const open = async (options: Parameters<typeof redisTransport>[0]) => {
  const link = await redisTransport(options).connect({ signal: new AbortController().signal });
  links.push(link);
  const got: string[] = [];
  link.incoming$.subscribe((d: Payload) => got.push(String(d)));
  return { link, got };
};

test.before(async () => {
  if (!hasRedisServer()) throw new Error('redis-server is not on PATH (Debian: apt-get install redis-server; .ci/run installs it)');
  redis = await startRedis();
});
test.after.each(async () => {
  await Promise.all(links.splice(0).map((l) => l.close()));
});
test.after(async () => {
  await redis.stop();
});

test('redis link: commands of one send run in order; each reply comes as [id,0,reply], an error reply as [id,1,message]', async () => {
  const { link, got } = await open({ url: redis.url });
  assert.is(cmd(7, ['SET', 'k', 1]), '7 3\n3:SET1:k1:1');
  await link.send(cmd(1, ['SET', 'k', 'v']) + cmd(2, ['GET', 'k']) + cmd(3, ['INCR', 'k']) + cmd(4, ['RPUSH', 'l', 1, 'two']));
  await until(() => got.length === 4, 'four replies');
  assert.equal(got.map((g) => JSON.parse(g)), [
    [1, 0, 'OK'],
    [2, 0, 'v'],
    [3, 1, 'ERR value is not an integer or out of range'],
    [4, 0, 2],
  ]);
});

test('redis link: a frame that does not parse is answered with an error reply (the rest of its send dropped), and the link stays', async () => {
  const { link, got } = await open({ url: redis.url });
  await link.send('not a frame');
  await link.send(cmd(6, ['PING']) + '7 2\n4:PING9:short');
  await link.send(cmd(8, ['HGET', 'k']) + cmd(9, ['SET', 'line', '{"a":"b:c\\n"}\n']) + cmd(10, ['GET', 'line']) + cmd(11, ['PING']) + 'x');
  await until(() => got.length >= 7, 'seven replies');
  const parsed = got.slice(0, 7).map((g) => JSON.parse(g) as [number | null, 0 | 1, unknown]);
  await until(() => got.length === 8, 'the refusal of the trailing garbage');
  assert.equal(parsed.concat([JSON.parse(got[7]!)]).map(([id, failed]) => [id, failed]), [[null, 1], [6, 0], [7, 1], [8, 1], [9, 0], [10, 0], [11, 0], [null, 1]], 'in command order, refusals too');
  assert.match(String(parsed[2]![2]), /argument 2 of command 7/);
  assert.equal(parsed[5]![2], '{"a":"b:c\\n"}\n', 'arguments go through as they are: quotes, colons, newlines');
});

test('redis link: scripts are loaded before the link counts as open, so EVALSHA works on a Redis that restarted empty', async () => {
  const lua = "return 'hi ' .. ARGV[1]";
  const sha = createHash('sha1').update(lua).digest('hex');
  const transport = redisTransport({ url: redis.url, scripts: [lua] });
  for (let round = 0; round < 2; round++) {
    const link = await transport.connect({ signal: new AbortController().signal });
    const got: string[] = [];
    link.incoming$.subscribe((d) => got.push(String(d)));
    await link.send(cmd(1, ['EVALSHA', sha, 0, 'there']));
    await until(() => got.length === 1, 'the reply');
    assert.equal(JSON.parse(got[0]!), [1, 0, 'hi there']);
    await link.close();
    if (round === 0) await redis.restart();
  }
});

test('redis link: a subscriber subscribes to channels() before it counts as open; messages come as <length>:<channel><message>', async () => {
  const channels = ['a:{x}', 'b'];
  const { link, got } = await open({ url: redis.url, mode: 'subscriber', channels: () => channels });
  const { link: pub, got: replies } = await open({ url: redis.url });
  await pub.send(cmd(1, ['PUBLISH', 'a:{x}', 'hello']) + cmd(2, ['PUBLISH', 'b', '1 {"seq":1}']));
  await until(() => got.length === 2, 'two messages');
  assert.equal(got, ['5:a:{x}hello', '1:b1 {"seq":1}']);
  await until(() => replies.length === 2, 'the publish counts');
  assert.equal(replies.map((r) => JSON.parse(r)[2]), [1, 1]);
  await link.send(cmd(3, ['UNSUBSCRIBE', 'b']) + cmd(4, ['GET', 'k']));
  await until(() => got.length === 4, 'unsubscribe reply and the refusal');
  assert.equal(JSON.parse(got[2]!), [3, 0, 1]);
  assert.match(JSON.parse(got[3]!)[2], /subscriber link takes only/);
});

test('redis link: Redis going away resolves closed, not initiated locally, with a RedisConnectionError; incoming$ completes', async () => {
  const { link } = await open({ url: redis.url });
  let completed = false;
  link.incoming$.subscribe({ complete: () => (completed = true) });
  await redis.kill();
  const info = await link.closed;
  await redis.start();
  assert.is(info.initiatedLocally, false);
  assert.instance(info.error, RedisConnectionError);
  assert.ok(completed);
  await link.send(cmd(1, ['PING'])).then(
    () => assert.unreachable('a send after the end rejects'),
    (e) => assert.instance(e, LinkClosedError),
  );
});

test('redis link: close() is a normal end (initiatedLocally), idempotent, and waits for the socket', async () => {
  const { link, got } = await open({ url: redis.url });
  await link.send(cmd(1, ['PING']));
  const [a, b] = [link.close(), link.close()];
  await Promise.all([a, b]);
  assert.is((await link.closed).initiatedLocally, true);
  assert.equal(got, ['[1,0,"PONG"]'], 'the reply to what was sent before the close still came');
});

test('redis link: nobody listening is a RedisConnectionError (ERR_CONNECTION_REFUSED, the OS error as cause)', async () => {
  const port = await freePort();
  const err = await redisTransport({ url: `redis://127.0.0.1:${port}` })
    .connect({ signal: new AbortController().signal })
    .then(() => undefined, (e: unknown) => e);
  assert.instance(err, RedisConnectionError);
  assert.instance(err, ConnectionError);
  assert.is((err as RedisConnectionError).code, 'ERR_CONNECTION_REFUSED');
  assert.is((err as RedisConnectionError).errno, 'ECONNREFUSED');
  assert.is((err as RedisConnectionError).kind, 'redis');
});

test('redis link: aborting a connect that hangs (a silent server) rejects it as canceled', async () => {
  const silent = await startSilentServer();
  try {
    const ac = new AbortController();
    const p = redisTransport({ url: `redis://127.0.0.1:${silent.port}` }).connect({ signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const err = await p.then(() => undefined, (e: unknown) => e);
    assert.instance(err, LinkClosedError);
    assert.is((err as LinkClosedError).canceled, true);
  } finally {
    await silent.close();
  }
});

test('redis transport: bad options are TypeErrors naming the option', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{}, /exactly one of options\.url .* and options\.redis .*neither/],
    [{ url: 'redis://x', redis: { duplicate() {} } }, /both/],
    [{ url: 'http://127.0.0.1:6379' }, /options\.url must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ url: 42 }, /options\.url must be a redis:\/\//],
    [{ redis: {} }, /options\.redis must be an ioredis client/],
    [{ url: 'redis://x', mode: 'pubsub' }, /options\.mode/],
    [{ url: 'redis://x', scripts: [1] }, /options\.scripts/],
  ];
  for (const [options, re] of bad) assert.throws(() => redisTransport(options as never), (e: Error) => e instanceof TypeError && re.test(e.message), JSON.stringify(options));
  assert.throws(() => redisTransport(null as never), (e: Error) => e instanceof TypeError);
});

test.run();
