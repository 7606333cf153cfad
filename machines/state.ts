import type { ConnectionState } from './events.js';

/**
 * The state name of a connection snapshot, one of the six `ConnectionState`s:
 * `'connected'` for `{ active: { connected: 'watching' } }`, `'disconnected'`
 * for `{ disconnected: 'idle' }`. `active` only groups states and is never
 * the answer.
 */
export function topState(snapshot: { value?: unknown } | undefined): ConnectionState {
  let value = snapshot?.value;
  if (value && typeof value === 'object' && 'active' in value) value = value.active;
  if (typeof value === 'string') return value as ConnectionState;
  if (value && typeof value === 'object') return Object.keys(value)[0] as ConnectionState;
  return 'disconnected';
}

/**
 * True when the connection is in state `name` (one of the six names): the
 * same as `topState(snapshot) === name`, or `snapshot.matches({ active: name })`
 * for the three states inside `active`. It allocates nothing, as the
 * supervisor asks it on every direct send (actors/supervisor.ts).
 */
export function inState(snapshot: { value?: unknown } | undefined, name: ConnectionState): boolean {
  let value = snapshot?.value;
  if (value && typeof value === 'object' && 'active' in value) value = value.active;
  if (typeof value === 'string') return value === name;
  if (value && typeof value === 'object') return name in value;
  return name === 'disconnected';
}
