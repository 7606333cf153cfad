/**
 * `npx statewire <command>`:
 *   export-machine <connection|supervisor>   print the machine config as JSON (importable by the Stately editor)
 */
import { connectionMachine } from '../machines/connection.machine.js';
import { supervisorMachine } from '../machines/supervisor.machine.js';
import { machineConfig } from './graph.js';

const machines = { connection: connectionMachine, supervisor: supervisorMachine } as const;
const USAGE = `usage: statewire export-machine <${Object.keys(machines).join('|')}>`;

export function main(argv: string[]): number {
  const [command, name] = argv;
  if (command === '--help' || command === '-h' || command === undefined) {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'export-machine') {
    console.error(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  const machine = machines[name as keyof typeof machines];
  if (!machine) {
    console.error(`unknown machine ${JSON.stringify(name)}: one of ${Object.keys(machines).join(', ')}\n${USAGE}`);
    return 2;
  }
  process.stdout.write(`${JSON.stringify(machineConfig(machine), null, 2)}\n`);
  return 0;
}
