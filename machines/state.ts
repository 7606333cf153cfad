import type { ConnectionState } from './events.js';

/** The top-level state name of a connection snapshot (`'connected'` for `{ connected: {...} }`). */
export function topState(snapshot: { value: unknown } | undefined): ConnectionState {
  const value = snapshot?.value;
  if (typeof value === 'string') return value as ConnectionState;
  if (value && typeof value === 'object') return Object.keys(value)[0] as ConnectionState;
  return 'disconnected';
}
