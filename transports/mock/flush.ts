/**
 * Let every pending promise callback run (the mock transport settles through
 * microtasks only). One macrotask turn is enough for chains of any length
 * that do not wait on timers or I/O.
 */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
