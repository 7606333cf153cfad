/** Small statistics the benches print: accepts per 100 ms window, and min/median/max of repeated runs. */

/**
 * Accepts per 100 ms window (`accepts`: ms since the server listened) and the
 * busiest one, as a count and as a % of `n`.
 */
export function windowsOf(accepts: number[], n: number) {
  const windows: number[] = [];
  for (const t of accepts) windows[Math.floor(t / 100)] = (windows[Math.floor(t / 100)] ?? 0) + 1;
  const filled = Array.from(windows, (w) => w ?? 0);
  const peak = Math.max(...filled);
  return {
    peak,
    peakPct: +((peak / n) * 100).toFixed(1),
    peakWindow: filled.indexOf(peak),
    windowsOver10Pct: filled.filter((w) => w > n / 10).length,
    allBackMs: Math.round(Math.max(...accepts)),
    windows: filled.slice(0, 40).join(' '),
  };
}

/** min, median (the lower middle of an even count) and max. */
export function spread(xs: number[]): { min: number; median: number; max: number } {
  if (xs.length === 0) throw new RangeError('spread of no runs');
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor((s.length - 1) / 2)]!, max: s.at(-1)! };
}
