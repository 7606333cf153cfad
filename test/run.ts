/**
 * Test runner: uvu's own runner over every `*.test.ts`, with the transition
 * coverage test last, ending with the one line CI reads: `N passed, N failed`.
 * It also fails the run when a test left a handle open (a socket, a timer, a
 * child process): "nothing left running" is checked, not hoped for.
 */
import { parse } from 'uvu/parse';
import { run } from 'uvu/run';

const pattern = process.argv[2] ?? '\\.test\\.ts$';
const ctx = await parse('test', pattern, {});
ctx.suites.sort((a, b) => Number(/zz-/.test(a.name)) - Number(/zz-/.test(b.name)) || a.name.localeCompare(b.name));

let out = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

let crashed = 0;
try {
  await run(ctx.suites, { bail: false });
} catch (err) {
  // A test file that throws while loading still ends with the summary line.
  console.error(err);
  crashed = 1;
}
process.stdout.write = write;

// eslint-disable-next-line no-control-regex
const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
// uvu's Total counts the tests it ran: skipped ones (test.skip) are neither in it nor failures.
let failed = (Number.isNaN(total) ? 1 : total - passed) + crashed;

// Give closing handles one turn, then look for anything still open.
await new Promise((r) => setTimeout(r, 200));
const leaked = process.getActiveResourcesInfo().filter((r) => !['TTYWrap', 'PipeWrap'].includes(r));
if (leaked.length) {
  console.error(`handles left open after the tests: ${leaked.join(', ')}`);
  failed += 1;
}
console.log(`${Number.isNaN(passed) ? 0 : passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
// Something left running (a leaked handle, a child a failed test did not reap) must not hang CI: go.
setTimeout(() => process.exit(process.exitCode), 100).unref();
