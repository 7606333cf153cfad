/**
 * Where a connection's transport actor announces the live link, so the live
 * link stays out of the machine's context (a context is a value: snapshots
 * get compared, serialized, inspected; a socket is none of those).
 *
 * The supervisor keeps one to write to a `connected` child's link without an
 * XState event per message (the data path, see `directSend` in
 * actors/supervisor.ts). Whoever reads it must check that the entry's `gen`
 * is the machine's current `context.gen`: a report from an older attempt may
 * arrive late.
 */
import type { Link, Payload } from './ports/transport.js';

export interface LinkRegistry {
  /** Attempt `gen` of connection `connectionId` opened `link`; called just before LINK_OPEN is reported. */
  opened(connectionId: string, gen: number, link: Link): void;
  /**
   * Attempt `gen`'s link is closing or ended (closed, lost, or its actor was
   * stopped). Called once per `opened`; an implementation forgets the entry
   * only if it is still this `gen`'s.
   */
  closed(connectionId: string, gen: number): void;
  /**
   * The inbound data path (optional). Attempt `gen`'s link read `data`. Return
   * true when it was delivered here; false sends it through the machine as a
   * `LINK_DATA` event. An implementation may take a chunk only while the
   * machine would do nothing with it but emit it (see `deliverDirect` in
   * actors/supervisor.ts), and must take all of a link's chunks or none while
   * they could overtake one another.
   */
  data?(connectionId: string, gen: number, data: Payload): boolean;
}
