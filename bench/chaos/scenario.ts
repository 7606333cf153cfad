/**
 * Runs one chaos scenario in this process and prints its result as the last
 * stdout line (`RESULT <json>`). Started by bench/chaos/run.ts, one process
 * per scenario, so heap figures, crash counts and handle checks are its own:
 * `scenario.ts <name> <seed> [quick]`.
 */
import type { ScenarioOptions, ScenarioResult } from './lib.js';

const scenarios: Record<string, () => Promise<{ run(o: ScenarioOptions): Promise<ScenarioResult> }>> = {
  ws: () => import('./ws-storm.js'),
  edge: () => import('./edge-crash.js'),
  supervisor: () => import('./supervisor-storm.js'),
  'fuzz-servers': () => import('./fuzz-servers.js'),
  'fuzz-api': () => import('./fuzz-api.js'),
};

export const SCENARIOS = Object.keys(scenarios);

if (import.meta.url === `file://${process.argv[1]}`) {
  const [name = '', seedArg = '1', mode = ''] = process.argv.slice(2);
  const load = scenarios[name];
  if (!load) throw new TypeError(`unknown scenario "${name}"; scenarios: ${SCENARIOS.join(', ')}`);
  const result = await (await load()).run({ seed: Number(seedArg), quick: mode === 'quick' });
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  // Whatever a scenario left running must not keep its process alive: the result says what leaked.
  setTimeout(() => process.exit(0), 50).unref();
}
