/**
 * Where the bytes of one connection go: `heap-diff.ts <small.heapsnapshot> <large.heapsnapshot> <connections added>`
 * compares two V8 heap snapshots of the same program holding n and 2n
 * connections (bench/heap.ts and bench/ws/server.ts write one when
 * HEAP_SNAPSHOT is set) and prints, per connection, the objects and self
 * bytes added by kind: constructor name for objects, function name for
 * closures, V8's own names for internal arrays and hidden objects. Fixed
 * costs cancel out. Self size only (retained sizes would count shared
 * objects many times over).
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function tally(path: string): Map<string, { count: number; bytes: number }> {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const [TYPE, NAME, SIZE] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const types = s.snapshot.meta.node_types[0];
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + TYPE]!]!;
    let name = s.strings[s.nodes[i + NAME]!]!;
    // Strings and numbers are keyed by type alone: their names are their values.
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' || type === 'bigint') name = '';
    else if (name.length > 60) name = `${name.slice(0, 57)}...`;
    const key = `${type}\t${name}`;
    const entry = out.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += s.nodes[i + SIZE]!;
    out.set(key, entry);
  }
  return out;
}

// Piped into `head`: a closed stdout ends the listing, not in an error.
process.stdout.on('error', () => process.exit(0));
const [smallPath, largePath, nArg] = process.argv.slice(2);
if (!smallPath || !largePath || !nArg) throw new Error('usage: heap-diff.ts <small.heapsnapshot> <large.heapsnapshot> <connections added>');
const n = Number(nArg);
const small = tally(smallPath);
const large = tally(largePath);
const rows: Array<{ type: string; name: string; count: number; bytes: number }> = [];
for (const [key, l] of large) {
  const sm = small.get(key) ?? { count: 0, bytes: 0 };
  const [type, name] = key.split('\t') as [string, string];
  rows.push({ type, name, count: (l.count - sm.count) / n, bytes: (l.bytes - sm.bytes) / n });
}
rows.sort((a, b) => b.bytes - a.bytes);
const total = rows.reduce((t, r) => t + r.bytes, 0);
console.log(`per connection: ${total.toFixed(0)} bytes self size, ${rows.reduce((t, r) => t + r.count, 0).toFixed(1)} objects`);
console.log('bytes\tobjects\ttype\tname');
for (const r of rows) {
  if (Math.abs(r.bytes) < 8) continue;
  console.log(`${r.bytes.toFixed(0)}\t${r.count.toFixed(2)}\t${r.type}\t${r.name}`);
}
