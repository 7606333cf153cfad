/**
 * The outbox: SENDs made while not connected. Pure functions over arrays, so
 * the connection machine's context stays a plain value.
 */
import * as check from './ports/check.js';

export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'reject';

export interface OutboxOptions {
  /** Most messages held. Default 1000. 0 means nothing is queued (every offline send is dropped). */
  limit?: number;
  /**
   * What happens to a SEND when the outbox is full. Never silent: the dropped
   * message's sender gets an `OutboxOverflowError` and `EVENT_OUTBOX_OVERFLOW` is emitted.
   * - `'drop-oldest'` (default): the oldest queued message is dropped, the new one queued;
   * - `'drop-newest'`: the newest queued message is dropped, the new one queued
   *   (keeps the start of the backlog and the latest value);
   * - `'reject'`: the new message is refused; the queue is untouched.
   */
  overflow?: OverflowPolicy;
}

export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = ['drop-oldest', 'drop-newest', 'reject'];

export function resolveOutbox(o: OutboxOptions | undefined, name = 'outbox'): Required<OutboxOptions> {
  if (o !== undefined) check.object(o, name);
  return {
    limit: check.integer(o?.limit ?? 1000, `${name}.limit`, { min: 0 }),
    overflow: check.oneOf(o?.overflow ?? 'drop-oldest', `${name}.overflow`, OVERFLOW_POLICIES),
  };
}

/** Add `item`; returns the new queue and the item dropped to make room, if any. */
export function enqueue<T>(
  queue: readonly T[],
  item: T,
  { limit, overflow }: Required<OutboxOptions>,
): { queue: T[]; dropped: T | undefined } {
  if (queue.length < limit) return { queue: [...queue, item], dropped: undefined };
  if (overflow === 'reject' || limit === 0) return { queue: queue as T[], dropped: item };
  if (overflow === 'drop-oldest') return { queue: [...queue.slice(1), item], dropped: queue[0] };
  return { queue: [...queue.slice(0, -1), item], dropped: queue[queue.length - 1] };
}
