/**
 * The `## Chaos suite` section of bench/RELIABILITY.md: one table per
 * scenario (sent, received, duplicates, lost, crashes, leaked handles, peak
 * memory, seed), its invariants, figures and findings. Other sections of the
 * file (written by other tools) are kept as they are.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ScenarioResult } from './lib.js';

const TITLES: Record<string, string> = {
  ws: 'WebSocket clients and TaskLogHub viewers through the chaos proxy',
  edge: 'EdgeClients while their agent is SIGKILLed and restarted',
  supervisor: 'Supervisor restart storms',
  'fuzz-servers': 'Fuzzed input into the servers (UNIX agent, hub, visualizer /events)',
  'fuzz-api': 'Public API argument fuzzing',
};

const HEADING = '## Chaos suite';

export function section(results: ScenarioResult[], context: { machine: string; date: string; seed: number; quick: boolean }): string {
  const out: string[] = [
    HEADING,
    '',
    `Written by \`npm run chaos\` (bench/chaos/, seed ${context.seed}${context.quick ? ', --quick' : ''}); measured ${context.date} on ${context.machine}.`,
    `Run it again with \`npm run chaos -- --seed ${context.seed}\`: the seed fixes every fault schedule, fuzzed frame and`,
    'argument (when a fault lands relative to the traffic is up to the clock). Loopback only; each scenario runs in its',
    'own process, so its memory, crash count and leaked handles are its own. "Lost" is what was acknowledged and never',
    'arrived (for the fuzzers: frames left without an answer, or calls that hung); "crashes" are uncaught exceptions',
    'and unhandled rejections, or the server process dying. An invariant marked **known** fails today because of a',
    'defect named beside it.',
    '',
  ];
  const order = ['ws', 'edge', 'supervisor', 'fuzz-servers', 'fuzz-api'];
  for (const r of [...results].sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario))) {
    out.push(`### ${r.scenario}: ${TITLES[r.scenario] ?? r.scenario}`, '', `\`${r.summary}\` (${(r.durationMs / 1000).toFixed(1)} s)`, '');
    out.push('| part | sent | received | duplicates | lost | crashes | leaked handles | peak RSS / heap | seed |', '|---|---|---|---|---|---|---|---|---|');
    for (const row of r.rows) {
      out.push(`| ${row.part} | ${row.sent} | ${row.received} | ${row.duplicates} | ${row.lost} | ${row.crashes} | ${row.leakedHandles} | ${row.peakRssMb} / ${row.peakHeapMb} MB | ${r.seed} |`);
    }
    out.push('');
    for (const i of r.invariants) out.push(`- ${i.ok ? 'holds' : i.known ? `**known** (${i.known})` : '**broken**'}: ${i.name} (${i.detail.replace(/\|/g, '/')})`);
    const figures = Object.entries(r.figures);
    if (figures.length) {
      out.push('', 'Figures:', '');
      for (const [k, v] of figures) out.push(`- ${k}: ${String(v)}`);
    }
    if (r.findings.length) {
      out.push('', 'Found:', '');
      for (const f of r.findings) out.push(`- ${f}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Put `text` in place of the `## Chaos suite` section of `file` (up to the next `## ` heading), or append it. */
export function writeSection(file: string, text: string): void {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Reliability\n\nHow statewire holds up when things go wrong: each section says how it was measured.\n';
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trim() === HEADING);
  if (start === -1) {
    doc = `${doc.replace(/\n*$/, '\n')}\n${body}`;
  } else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    if (end === -1) end = lines.length;
    doc = [...lines.slice(0, start), ...body.replace(/\n$/, '').split('\n'), ...(end < lines.length ? ['', ...lines.slice(end)] : [''])].join('\n');
  }
  writeFileSync(file, doc);
}
