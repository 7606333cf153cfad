/** The README's usage example, run exactly as written. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRedis } from './helpers/redis.js';

const test = suite('readme');
const root = fileURLToPath(new URL('..', import.meta.url));

test('readme: the usage example runs as written and reconnects after the drop', async () => {
  const readme = await readFile(`${root}README.md`, 'utf8');
  const block = /## Usage\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'README has a ts block under "## Usage"');
  // Inside the package, `import 'statewire'` resolves to itself (package self-reference).
  const file = `${root}.readme-example-${process.pid}.ts`;
  await writeFile(file, block!);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 20_000 });
    assert.match(stdout, /radio EVENT_STATE_CHANGE connected/);
    assert.match(stdout, /radio EVENT_STATE_CHANGE reconnecting/);
    assert.match(stdout, /radio EVENT_RECONNECT_OK connecting/);
    assert.match(stdout, /state: 'connected'/);
  } finally {
    await rm(file, { force: true });
  }
});

test('readme: the radio link example runs as written: CAT, power readings, a power alarm, the fast path, PTT off at the end', async () => {
  const readme = await readFile(`${root}README.md`, 'utf8');
  const block = /### Radio link \(serial CAT\)[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'README has a ts block under "### Radio link (serial CAT)"');
  const file = `${root}.readme-radio-${process.pid}.ts`;
  await writeFile(file, block!);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 20_000 });
    assert.match(stdout, /frequency 7074000/);
    assert.match(stdout, /power 100 W/);
    assert.match(stdout, /power 0 W/);
    assert.match(stdout, /EVENT_POWER_WARNING/);
    assert.match(stdout, /EVENT_POWER_CRITICAL/);
    assert.match(stdout, /state: 'connected'/);
    assert.match(stdout, /ptt: false/);
  } finally {
    await rm(file, { force: true });
  }
});

test('readme: the API Gateway example runs as written against the emulator through the real SDK', async () => {
  const readme = await readFile(`${root}README.md`, 'utf8');
  const block = /## API Gateway \(`statewire\/apigateway`\)[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'README has a ts block under "## API Gateway"');
  const file = `${root}.readme-apigw-${process.pid}.ts`;
  await writeFile(file, block!);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 20_000 });
    assert.match(stdout, /browser got \{"type":"hello"\}/);
    assert.match(stdout, /browser got \{"type":"progress","request_id":"job-1","percentage":50,"message":"halfway"\}/);
    assert.match(stdout, /browser got \{"type":"news"\}/);
    assert.match(stdout, /total: 1, sent: 1/);
    assert.match(stdout, /gone: true/);
  } finally {
    await rm(file, { force: true });
  }
});

test('readme: the TCP and TLS example runs as written: mutual TLS, the handshake told, the echo, the cache', async () => {
  const readme = await readFile(`${root}README.md`, 'utf8');
  const block = /## TCP and TLS \(`statewire\/tcp`\)[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'README has a ts block under "## TCP and TLS"');
  const file = `${root}.readme-tcp-${process.pid}.ts`;
  await writeFile(file, block!);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 20_000 });
    assert.match(stdout, /handshake TLSv1\.3 TLS_/);
    assert.match(stdout, /echoed hello over mutual TLS/);
    assert.match(stdout, /same connection: true/);
  } finally {
    await rm(file, { force: true });
  }
});

test('readme: the Redis example runs as written against a redis-server of its own (issue 16)', async () => {
  const readme = await readFile(`${root}README.md`, 'utf8');
  const block = /### Several processes \(Redis\)[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'README has a ts block under "### Several processes (Redis)"');
  const file = `${root}.readme-redis-${process.pid}.ts`;
  await writeFile(file, block!);
  const redis = await startRedis();
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 20_000, env: { ...process.env, REDIS_URL: redis.url } });
    assert.match(stdout, /^queued\n/);
    assert.match(stdout, /redis:commands connected, redis:subscriber (connected|connecting)/);
  } finally {
    await rm(file, { force: true });
    await redis.stop();
  }
});

test.run();
