/**
 * The import picture has layers (docs/ARCHITECTURE.md, "Import rules"): no
 * arrow runs up and there is no cycle. Every `.ts` file under machines/,
 * actors/, transports/ and visualizer/ (not `.d.ts`, not visualizer/public/)
 * is read, its relative imports parsed (`import`, `import type`,
 * `export … from`, `import('…')`, `declare module '…'`: a type-only import is
 * an arrow too), and each arrow checked:
 *
 * - `machines/ports/**` imports nothing outside `machines/ports/`;
 * - `machines/**` imports only `machines/**`;
 * - `actors/**` imports only `actors/**` and `machines/**`;
 * - transport-level files (`transports/*.ts`, `transports/<kind>/*.ts`,
 *   `transports/stream/**`) import only `machines/ports/**` and other
 *   transport-level files;
 * - facades (`transports/<kind>/<sub>/**`, `sub` not `stream`) import only
 *   `actors/index.ts` (the public API), `machines/ports/**` and their own
 *   kind's files;
 * - a kind's entry (`transports/<kind>/index.ts`, the `statewire/<kind>`
 *   subpath) imports only `machines/ports/**` and its own kind's files: it
 *   re-exports the kind's facades (EdgeClient, TaskLogHub), so it sits on top
 *   of its kind, not at the transport level, and no transport-level file may
 *   import it;
 * - only `visualizer/` imports `visualizer/`; nothing imports `test/`,
 *   `bench/` or `examples/`;
 * - no cycle.
 *
 * One exception, by name: the `statewire/testing` entry
 * (`transports/mock/index.ts`) re-exports `seededRandom` from
 * `machines/backoff.ts`, a helper for tests of users' machines. The mock
 * transport itself (`mock.transport.ts`, `flush.ts`) imports only ports.
 * (Moving `seededRandom` into `machines/ports/` would end the exception.)
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const test = suite('layers');
const root = fileURLToPath(new URL('..', import.meta.url));
const SCANNED = ['machines', 'actors', 'transports', 'visualizer'];

/** Arrows allowed although a rule forbids them: `from -> to`, each with its reason. */
const EXCEPTIONS: Record<string, string> = {
  'transports/mock/index.ts -> machines/backoff.ts': 'the statewire/testing entry re-exports seededRandom for tests of users\' machines',
};

/** Repo-relative posix paths of every scanned file, with their source. */
function sources(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = posix.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path !== 'visualizer/public') walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        files.set(path, readFileSync(join(root, path), 'utf8'));
      }
    }
  };
  for (const dir of SCANNED) walk(dir);
  return files;
}

/**
 * The module specifiers a file depends on. Statements are matched at the
 * start of a line, so examples in doc comments (` * import …`) do not count;
 * the clause between `import`/`export` and `from` holds no quote or `;`,
 * which lets it span lines.
 */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^[ \t]*(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"\n]+)\1/gm, // import x / import type / export … from
    /^[ \t]*import\s*(['"])([^'"\n]+)\1/gm, // import './side-effect.js'
    /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g, // import('./x.js'), also in type positions
    /^[ \t]*declare\s+module\s+(['"])([^'"\n]+)\1/gm, // augmenting a module depends on it
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.push(m[2]!);
  return found;
}

/** The repo-relative file a relative specifier names, or undefined when none exists. */
function resolve(from: string, specifier: string, exists: (path: string) => boolean): string | undefined {
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.d.ts'), base, `${base}.ts`, posix.join(base, 'index.ts')];
  return candidates.find(exists);
}

type Layer = 'ports' | 'machines' | 'actors' | 'transport' | 'entry' | 'facade' | 'visualizer' | 'test' | 'bench' | 'examples' | 'other';

function layerOf(path: string): Layer {
  const parts = path.split('/');
  switch (parts[0]) {
    case 'machines':
      return parts[1] === 'ports' ? 'ports' : 'machines';
    case 'actors':
      return 'actors';
    case 'transports':
      if (parts.length === 3 && parts[1] !== 'stream' && parts[2] === 'index.ts') return 'entry';
      // transports/*.ts, transports/stream/**, transports/<kind>/*.ts (and a kind's own stream/**)
      if (parts.length <= 3 || parts[1] === 'stream' || parts[2] === 'stream') return 'transport';
      return 'facade';
    case 'visualizer':
    case 'test':
    case 'bench':
    case 'examples':
      return parts[0];
    default:
      return 'other';
  }
}

/** Why the arrow `from -> to` is forbidden, or undefined when it is allowed. */
function forbidden(from: string, to: string): string | undefined {
  const a = layerOf(from);
  const b = layerOf(to);
  if (b === 'test' || b === 'bench' || b === 'examples') return `nothing imports ${b}/`;
  if (b === 'visualizer' && a !== 'visualizer') return 'only visualizer/ imports visualizer/';
  switch (a) {
    case 'ports':
      return b === 'ports' ? undefined : 'machines/ports/ imports nothing outside machines/ports/';
    case 'machines':
      return b === 'ports' || b === 'machines' ? undefined : 'machines/ imports only machines/';
    case 'actors':
      return b === 'ports' || b === 'machines' || b === 'actors' ? undefined : 'actors/ imports only actors/ and machines/';
    case 'transport':
      return b === 'ports' || b === 'transport' ? undefined : 'a transport-level file imports only machines/ports/ and transport-level files';
    case 'entry': {
      const kind = from.split('/')[1];
      if (b === 'ports' || to.startsWith(`transports/${kind}/`)) return undefined;
      return `a transport entry imports only machines/ports/ and transports/${kind}/`;
    }
    case 'facade': {
      const kind = from.split('/')[1];
      if (to === 'actors/index.ts' || b === 'ports' || to.startsWith(`transports/${kind}/`)) return undefined;
      return `a facade imports only actors/index.ts, machines/ports/ and transports/${kind}/`;
    }
    default:
      return undefined;
  }
}

interface Check {
  /** Every arrow between scanned files: `from -> to`. */
  edges: Map<string, Set<string>>;
  violations: string[];
  cycles: string[][];
}

/** Check a set of files (repo-relative path -> source) against the rules. */
function checkLayers(files: Map<string, string>, exists = (p: string) => files.has(p) || existsSync(join(root, p))): Check {
  const edges = new Map<string, Set<string>>();
  const violations: string[] = [];
  for (const [from, source] of files) {
    const targets = new Set<string>();
    edges.set(from, targets);
    for (const specifier of specifiers(source)) {
      if (!specifier.startsWith('.')) continue; // a package: not one of our layers
      const to = resolve(from, specifier, exists);
      if (to === undefined) {
        violations.push(`${from} -> '${specifier}': no such file`);
        continue;
      }
      targets.add(to);
      const why = forbidden(from, to);
      if (why && !EXCEPTIONS[`${from} -> ${to}`]) violations.push(`${from} -> ${to}: ${why}`);
    }
  }
  return { edges, violations: [...new Set(violations)].sort(), cycles: cyclesOf(edges) };
}

/** One cycle (as a path that ends where it starts) per strongly connected component that has one (Tarjan). */
function cyclesOf(edges: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const strong = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component = new Set<string>();
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.add(w);
    } while (w !== v);
    if (component.size > 1 || edges.get(v)?.has(v)) cycles.push(pathWithin(component, v, edges));
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) strong(v);
  return cycles;
}

/** A shortest path from `start` back to itself inside one component (breadth first). */
function pathWithin(component: Set<string>, start: string, edges: Map<string, Set<string>>): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of [...(edges.get(v) ?? [])].sort()) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path: string[] = [];
        for (let u = v; u !== start; u = previous.get(u)!) path.unshift(u);
        return [start, ...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

const report = (check: Check) =>
  [
    ...check.violations.map((v) => `  ${v}`),
    ...check.cycles.map((c) => `  cycle: ${c.join(' -> ')}`),
  ].join('\n');

test('layers: the parser sees every kind of import (multi-line, import type, export … from, import(), declare module)', () => {
  const source = [
    "import { a,\n  b } from './a.js';",
    "import type { T } from '../b.js';",
    "export { c } from './c.js';",
    "export type * from './d.js';",
    "import './e.js';",
    "type U = import('./f.js').U;",
    "declare module './g.js' { interface X { y: true } }",
    "import { z } from 'xstate';",
    " * import { notReal } from './doc-example.js';",
    "const s = 'export { x } from \"./in-a-string.js\"';",
  ].join('\n');
  assert.equal(specifiers(source).sort(), ['../b.js', './a.js', './c.js', './d.js', './e.js', './f.js', './g.js', 'xstate'].sort());
});

test('layers: the rules catch an upward arrow, a facade reaching past the public API, an entry imported from below, and a cycle', () => {
  const files = new Map([
    ['machines/ports/clock.ts', "import type { X } from '../events.js';"],
    ['machines/events.ts', "import { s } from '../actors/supervisor.js';"],
    ['actors/supervisor.ts', "import type { Link } from '../transports/link-core.js';"],
    ['actors/index.ts', "export { s } from './supervisor.js';"],
    ['transports/link-core.ts', "import { s } from '../actors/index.js';"],
    ['transports/unix/edge/client.ts', "import { s } from '../../../actors/supervisor.js';\nimport { a } from '../../../actors/index.js';\nimport { u } from '../unix.transport.js';"],
    ['transports/unix/unix.transport.ts', "import { m } from '../../visualizer/graph.js';"],
    ['visualizer/graph.ts', "import { t } from '../test/helpers/x.js';"],
    ['transports/unix/index.ts', "export * from './edge/client.js';\nexport * from '../../actors/index.js';"],
    ['transports/unix/errors.ts', "import { u } from './index.js';"],
  ]);
  const check = checkLayers(files, (p) => files.has(p) || p === 'test/helpers/x.ts');
  assert.equal(check.violations, [
    'actors/supervisor.ts -> transports/link-core.ts: actors/ imports only actors/ and machines/',
    'machines/events.ts -> actors/supervisor.ts: machines/ imports only machines/',
    'machines/ports/clock.ts -> machines/events.ts: machines/ports/ imports nothing outside machines/ports/',
    'transports/link-core.ts -> actors/index.ts: a transport-level file imports only machines/ports/ and transport-level files',
    'transports/unix/edge/client.ts -> actors/supervisor.ts: a facade imports only actors/index.ts, machines/ports/ and transports/unix/',
    'transports/unix/errors.ts -> transports/unix/index.ts: a transport-level file imports only machines/ports/ and transport-level files',
    'transports/unix/index.ts -> actors/index.ts: a transport entry imports only machines/ports/ and transports/unix/',
    'transports/unix/unix.transport.ts -> visualizer/graph.ts: only visualizer/ imports visualizer/',
    'visualizer/graph.ts -> test/helpers/x.ts: nothing imports test/',
  ]);
  assert.equal(check.cycles, [['actors/index.ts', 'actors/supervisor.ts', 'transports/link-core.ts', 'actors/index.ts']]);
});

test('layers: no import runs up a layer and there is no import cycle (type-only imports count)', () => {
  const files = sources();
  assert.ok(files.size > 30, `only ${files.size} files found`);
  const check = checkLayers(files);
  // The parser found the arrows it must: a multi-line import, an `import type`, an `export … from`.
  assert.ok(check.edges.get('machines/connection.machine.ts')?.has('machines/events.ts'));
  assert.ok(check.edges.get('actors/acceptor.ts')?.has('actors/supervisor.ts'));
  assert.ok(check.edges.get('actors/index.ts')?.has('machines/ports/errors.ts'));
  assert.ok(check.violations.length === 0 && check.cycles.length === 0, `import rules broken:\n${report(check)}`);
});

test('layers: every exception still names an arrow that exists', () => {
  const { edges } = checkLayers(sources());
  for (const arrow of Object.keys(EXCEPTIONS)) {
    const [from, to] = arrow.split(' -> ') as [string, string];
    assert.ok(edges.get(from)?.has(to), `exception "${arrow}" is no longer needed: remove it`);
  }
});

test.run();
