/**
 * Every ```ts block in README.md is a file a user can paste and compile: each
 * one is written to its own .ts file inside the package (so `import 'statewire'`
 * resolves through the package's self-reference to the built dist/, as it does
 * in a user's app) and type-checked with tsc. Type checking only: the usage
 * block is also run, by readme.test.ts.
 *
 * A block that is deliberately partial starts with `// not checked: <reason>`.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const test = suite('readme snippets');
const root = fileURLToPath(new URL('..', import.meta.url));

/** What a snippet may import: the package's public entries, Node built-ins, and the peer/runtime dependencies. */
// The package's own exports map: a new entry is allowed as soon as it is exported.
const ENTRIES = Object.keys((JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> }).exports)
  .filter((k) => k !== './package.json')
  .map((k) => (k === '.' ? 'statewire' : `statewire/${k.slice(2)}`));
const allowed = (specifier: string) => ENTRIES.includes(specifier) || specifier.startsWith('node:') || ['xstate', 'rxjs', 'ws'].includes(specifier);

interface Block {
  /** README line of the opening fence. */
  line: number;
  code: string;
}

async function readmeBlocks(): Promise<Block[]> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => ({
    line: readme.slice(0, m.index).split('\n').length,
    code: m[1]!,
  }));
}

const skipped = (b: Block) => /^\/\/ not checked: \S/.test(b.code);

test('readme snippets: import only the public entries (statewire, statewire/websocket, /unix, /testing, /visualizer)', async () => {
  const blocks = await readmeBlocks();
  assert.ok(blocks.length >= 6, `found ${blocks.length} ts blocks`);
  for (const b of blocks) {
    // `from '...'`, `import '...'` and `import('...')`.
    for (const [, specifier] of b.code.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      assert.ok(allowed(specifier), `README line ${b.line}: import from '${specifier}' is not a public entry`);
    }
  }
});

test('readme snippets: at most one block is marked "// not checked"', async () => {
  const marked = (await readmeBlocks()).filter(skipped);
  assert.ok(marked.length <= 1, `marked not checked at README lines ${marked.map((b) => b.line).join(', ')}`);
});

test('readme snippets: every ts block type-checks on its own against the built package (tsc, strict, NodeNext)', async () => {
  assert.ok(existsSync(join(root, 'dist/actors/index.d.ts')), 'dist/ is missing: run `npm run build` (npm test builds first)');
  const blocks = (await readmeBlocks()).filter((b) => !skipped(b));
  // Inside the package root, so the package's self-reference resolves `statewire/*` to dist/.
  const dir = await mkdtemp(join(root, '.readme-snippets-'));
  try {
    const files = blocks.map((b) => `readme-line-${b.line}.ts`);
    await Promise.all(blocks.map((b, i) => writeFile(join(dir, files[i]!), b.code)));
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023', 'ESNext.Disposable'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        types: ['node'],
        skipLibCheck: true,
        noEmit: true,
      },
      files,
    };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    const output = await promisify(execFile)(join(root, 'node_modules/.bin/tsc'), ['-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: root, timeout: 60_000 }).then(
      ({ stdout, stderr }) => stdout + stderr,
      (e: { stdout?: string; stderr?: string; message: string }) => (e.stdout || e.stderr ? `${e.stdout ?? ''}${e.stderr ?? ''}` : e.message),
    );
    // Name README lines, not temp files: "readme-line-123.ts(4,7)" is README line 123 + 4.
    const readable = output.replace(/\S*readme-line-(\d+)\.ts\((\d+),(\d+)\)/g, (_m, l: string, row: string, col: string) => `README.md:${Number(l) + Number(row)}:${col}`);
    assert.is(readable.trim(), '', `tsc found errors in README snippets:\n${readable}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
