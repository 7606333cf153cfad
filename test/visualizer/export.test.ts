/** `npx statewire export-machine`: the JSON round-trips into createMachine with the same states and transitions. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMachine, type AnyStateMachine } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import { spawnLines } from '../helpers/spawn.js';

const test = suite('export-machine');

type Node = AnyStateMachine['root'];
/** Every state id, and every transition as "source --event [guard]--> targets". */
function shape(machine: AnyStateMachine) {
  const states: string[] = [];
  const transitions: string[] = [];
  const guard = (g: unknown) => (g === undefined ? '' : ` [${typeof g === 'string' ? g : (g as { type?: string }).type}]`);
  const walk = (node: Node) => {
    states.push(`${node.id}:${node.type}`);
    for (const [event, defs] of node.transitions) {
      for (const d of defs) transitions.push(`${node.id} --${event}${guard(d.guard)}--> ${(d.target ?? []).map((t) => t.id).join(',') || '(internal)'}`);
    }
    for (const d of node.always ?? []) transitions.push(`${node.id} --always${guard(d.guard)}--> ${(d.target ?? []).map((t) => t.id).join(',')}`);
    for (const child of Object.values(node.states) as Node[]) walk(child);
  };
  walk(machine.root);
  return { states: states.sort(), transitions: transitions.sort() };
}

for (const [name, machine] of [['connection', connectionMachine], ['supervisor', supervisorMachine]] as const) {
  test(`npx statewire export-machine ${name}: JSON that createMachine rebuilds with the same states and transitions`, async () => {
    const child = spawnLines('npx', ['--no-install', 'statewire', 'export-machine', name]);
    const code = await child.exited;
    assert.is(code, 0);
    const json = JSON.parse(child.lines.join('\n'));
    assert.is(json.id, name);
    const rebuilt = createMachine(json);
    const a = shape(machine);
    const b = shape(rebuilt);
    assert.ok(a.transitions.length > 10);
    assert.equal(b.states, a.states);
    assert.equal(b.transitions, a.transitions);
  });
}

test('unknown machine or command: exit code 2 and the usage', async () => {
  const child = spawnLines('npx', ['--no-install', 'statewire', 'export-machine', 'toaster']);
  assert.is(await child.exited, 2);
});

test.run();
