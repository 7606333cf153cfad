/**
 * layoutMachine (issue 17 §1): the statechart laid out by ELK, for both
 * shipped machines and a user's. Every state is drawn, nested ones inside
 * their parents, every transition is a line of an arrow's label, sized for
 * its text, and no label sits on another label or on a state's title.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AnyStateMachine } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import { machineChart, type ChartState, type MachineChart } from '../../visualizer/graph.js';
import { labelWidth, layoutChart, layoutMachine, type Box, type MachineLayout } from '../../visualizer/layout.js';
import { WebSocket } from 'ws';
import { createSupervisor } from '../../actors/supervisor.js';
import { serveVisualizer } from '../../visualizer/server.js';
import { userMachine } from '../fixtures/user-machine.js';

const test = suite('visualizer layout');

const MACHINES: Array<[string, AnyStateMachine]> = [
  ['connection', connectionMachine],
  ['supervisor', supervisorMachine],
  ['user (door)', userMachine],
];

/** Strictly overlapping (touching edges is not overlapping). */
const overlap = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const inside = (inner: Box, outer: Box) =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;
const name = (b: Box & { text?: string; id?: string }) => `${b.id ?? JSON.stringify(b.text)} at ${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}x${Math.round(b.height)}`;

function allStates(s: ChartState): ChartState[] {
  return [s, ...s.children.flatMap(allStates)];
}

for (const [label, machine] of MACHINES) {
  const get = async (): Promise<[MachineChart, MachineLayout]> => [machineChart(machine), await layoutMachine(machine)];

  test(`layout (${label}): every state is drawn once, inside its parent and below its parent's title`, async () => {
    const [chart, layout] = await get();
    assert.equal(layout.states.map((s) => s.id).sort(), allStates(chart.root).map((s) => s.id).sort());
    const byId = new Map(layout.states.map((s) => [s.id, s]));
    for (const s of layout.states) {
      assert.ok(s.width > 0 && s.height > 0, s.id);
      assert.ok(inside(s.title, s) || s.type === 'history', `${s.id}: title inside its box`);
      for (const line of s.internal) assert.ok(inside(line, s), `${s.id}: ${line.text} inside its box`);
      if (!s.parent) continue;
      const parent = byId.get(s.parent)!;
      assert.ok(inside(s, parent), `${name(s)} inside ${name(parent)}`);
      assert.not.ok(overlap(s, parent.title), `${s.id} clear of ${parent.id}'s title`);
      for (const line of parent.internal) assert.not.ok(overlap(s, line), `${s.id} clear of ${parent.id}'s "${line.text}"`);
      for (const sibling of layout.states) if (sibling !== s && sibling.parent === s.parent) assert.not.ok(overlap(s, sibling), `${s.id} and ${sibling.id} apart`);
    }
    assert.ok(layout.width >= Math.max(...layout.states.map((s) => s.x + s.width)));
    assert.ok(layout.height >= Math.max(...layout.states.map((s) => s.y + s.height)));
  });

  test(`layout (${label}): every transition is one full line of one arrow's label, the box wide enough for it`, async () => {
    const [chart, layout] = await get();
    const drawn = layout.arrows.flatMap((a) => a.transitions);
    assert.equal([...drawn].sort(), chart.transitions.map((t) => t.id).sort(), 'each transition on exactly one arrow');
    for (const a of layout.arrows) {
      const ts = a.transitions.map((id) => chart.transitions.find((t) => t.id === id)!);
      for (const t of ts) assert.equal([t.source, t.target], [a.source, a.target]);
      assert.equal(a.label.lines, ts.map((t) => t.label), 'the lines are the transitions, in full');
      assert.ok(a.label.width >= Math.max(...a.label.lines.map(labelWidth)), `${a.id}: wide enough`);
      assert.ok(a.label.height >= 14 * a.label.lines.length, `${a.id}: tall enough`);
      assert.ok(a.points.length >= 2, `${a.id}: routed`);
    }
  });

  test(`layout (${label}): no two labels overlap, and none overlaps a state's title, text or a simple state`, async () => {
    const [, layout] = await get();
    const labels = layout.arrows.map((a) => ({ ...a.label, id: a.id }));
    for (const [i, a] of labels.entries()) for (const b of labels.slice(i + 1)) assert.not.ok(overlap(a, b), `${name(a)} overlaps ${name(b)}`);
    for (const l of labels) {
      for (const s of layout.states) {
        assert.not.ok(overlap(l, s.title), `${name(l)} on ${s.id}'s title`);
        for (const line of s.internal) assert.not.ok(overlap(l, line), `${name(l)} on ${s.id}'s "${line.text}"`);
        if (s.type !== 'compound' && s.type !== 'parallel') assert.not.ok(overlap(l, s), `${name(l)} on ${s.id}`);
      }
    }
  });
}

test('layout: computed once per machine (the same promise), and again for another machine', () => {
  assert.is(layoutMachine(connectionMachine), layoutMachine(connectionMachine));
  assert.is.not(layoutMachine(connectionMachine), layoutMachine(supervisorMachine));
});

test('layout: the connection machine draws `active` as a frame around its three states, and the chart starts at disconnected', async () => {
  const layout = await layoutMachine(connectionMachine);
  const active = layout.states.find((s) => s.key === 'active')!;
  assert.ok(active.group);
  assert.equal(layout.states.filter((s) => s.parent === active.id).map((s) => s.key), ['connecting', 'connected', 'tx_dropped']);
  // Markers go where topState() puts a connection: the six named states, nowhere else.
  assert.equal(layout.states.filter((s) => s.markers).map((s) => s.key).sort(), ['connected', 'connecting', 'disconnected', 'failed', 'reconnecting', 'tx_dropped']);
  const y = (key: string) => layout.states.find((s) => s.key === key)!.y;
  // Top to bottom, cycles broken on the arrows back: the start above active, active above reconnecting, failed last.
  assert.ok(y('disconnected') < y('active') && y('active') < y('reconnecting') && y('reconnecting') < y('failed'));
  // The two guarded eventless transitions, which the old chart cut to "always [retriesExhausted], always [perm…".
  const toFailed = layout.arrows.find((a) => a.target === 'connection.failed')!;
  assert.equal(toFailed.label.lines, ['always [retriesExhausted]', 'always [permanentRepeated]']);
});

test('serveVisualizer: hello and /layout.json carry the layout of the machine given; a machine that is not one is a TypeError', async () => {
  const supervisor = createSupervisor({ id: 'layout' });
  const viz = await serveVisualizer(supervisor, { port: 0, machine: userMachine });
  try {
    const served = (await (await fetch(`${viz.url}layout.json`)).json()) as MachineLayout;
    assert.equal(served, JSON.parse(JSON.stringify(await layoutMachine(userMachine))));
    assert.is(served.machine, 'door');
    const ws = new WebSocket(`${viz.url.replace('http', 'ws')}events`);
    const hello = await new Promise<{ type: string; layout: MachineLayout }>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(String(d))));
      ws.once('error', reject);
    });
    ws.close();
    await new Promise((r) => ws.once('close', r));
    assert.is(hello.type, 'hello');
    assert.equal(hello.layout, served);
  } finally {
    await viz.close();
  }
  for (const machine of [{}, 'door', null]) {
    await serveVisualizer(supervisor, { port: 0, machine: machine as never }).then(
      () => assert.unreachable('accepted a machine that is not one'),
      (e: Error) => assert.ok(e instanceof TypeError && e.message.startsWith('options.machine must be an XState machine'), e.message),
    );
  }
  await supervisor.shutdown();
});

test('layout: a chart ELK cannot lay out is a rejected promise, not a crash', async () => {
  const chart = machineChart(supervisorMachine);
  const broken: MachineChart = { ...chart, transitions: [...chart.transitions, { id: 'tX', source: 'supervisor.running', target: 'supervisor.nowhere', label: 'GO' }] };
  try {
    await layoutChart(broken);
    assert.unreachable('should have rejected');
  } catch (e) {
    assert.instance(e, Error);
  }
});

test.run();
