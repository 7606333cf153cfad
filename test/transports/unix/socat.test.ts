/**
 * An independent peer: socat as a raw client sending hand-written frames to
 * EdgeAgentServer, and as a raw server that our EdgeClient talks to (the test
 * reads what the client wrote from socat's stdout and acks on its stdin).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { statSync } from 'node:fs';
import { EdgeAgentServer, EdgeClient, type EdgeEvent } from '../../../transports/unix/index.js';
import { until } from '../../helpers/net.js';
import { spawnLines } from '../../helpers/spawn.js';
import { tempDir } from '../../helpers/unix.js';

const test = suite('socat');

test('socat as a raw client: hand-written frames get acks and nacks from EdgeAgentServer', async () => {
  const tmp = tempDir();
  const path = tmp.path('agent.sock');
  const agent = new EdgeAgentServer({ path });
  const events: EdgeEvent[] = [];
  agent.events$.subscribe((e) => events.push(e));
  await agent.listen();
  const socat = spawnLines('socat', ['-t', '2', '-', `UNIX-CONNECT:${path}`], { stdin: true });
  socat.child.stdin!.write(
    [
      '{"id":1,"event_type":"SshBruteForce","severity":"critical","details":{"attempts":57,"source":"203.0.113.9"},"timestamp":"2026-11-22T07:00:00Z"}',
      '{"id":2,"event_type":"SshBruteForce","severity":"apocalyptic","details":{},"timestamp":"2026-11-22T07:00:01Z"}',
      'garbage',
      '{"id":3,"event_type":"DiskFull","severity":"medium","details":{"mount":"/var"},"timestamp":"2026-11-22T07:00:02Z"}',
      '',
    ].join('\n'),
  );
  await socat.waitFor(/"ack":3/);
  socat.child.stdin!.end();
  assert.is(await socat.exited, 0);
  const replies = socat.lines.map((l) => JSON.parse(l));
  assert.equal(replies.map((r) => ('ack' in r ? `ack ${r.ack}` : `nack ${r.nack}`)), ['ack 1', 'nack 2', 'nack null', 'ack 3']);
  assert.equal(events.map((e) => [e.id, e.event_type, e.severity]), [[1, 'SshBruteForce', 'critical'], [3, 'DiskFull', 'medium']]);
  assert.equal(events[0]!.details, { attempts: 57, source: '203.0.113.9' });
  await agent.close();
  tmp.remove();
});

test('socat as a raw server: EdgeClient writes the documented frames and settles on the acks it is sent', async () => {
  const tmp = tempDir();
  const path = tmp.path('raw.sock');
  const socat = spawnLines('socat', [`UNIX-LISTEN:${path}`, '-'], { stdin: true });
  await until(() => {
    try {
      return statSync(path).isSocket();
    } catch {
      return false;
    }
  }, 'socat listening');
  const conn = await EdgeClient.open({ path: path, reconnect: false });
  const a = conn.sendEvent('LoginFailed', 'high', { user: 'root', tries: [1, 2, 3] });
  const b = conn.sendEvent('LoginOk', 'info', { user: 'ops' });
  await socat.waitFor(/"id":2/);
  const [hello, features, f1, f2] = socat.lines.map((l) => JSON.parse(l));
  assert.equal(hello, { session: conn.sessionId });
  assert.equal(features, { features: ['ack-ranges'] }, 'what it understands (an agent that does not know it nacks it)');
  assert.equal(Object.keys(f1), ['id', 'event_type', 'severity', 'details', 'timestamp']);
  assert.equal([f1.id, f1.event_type, f1.severity, f1.details], [1, 'LoginFailed', 'high', { user: 'root', tries: [1, 2, 3] }]);
  assert.ok(!Number.isNaN(Date.parse(f1.timestamp)) && f1.timestamp.endsWith('Z'));
  assert.equal([f2.id, f2.event_type], [2, 'LoginOk']);
  socat.child.stdin!.write('{"ack":2}\n{"ack":1}\n');
  await Promise.all([a, b]);
  await conn.close();
  await socat.kill('SIGTERM');
  tmp.remove();
});

test.run();
