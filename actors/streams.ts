/**
 * Bridges from XState actors to RxJS. `from(actorRef)` already gives the
 * snapshots (XState actors are interop observables); these add the emitted
 * events and the top-level state.
 */
import { Observable, defer, distinctUntilChanged, filter, from, map, startWith } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import * as check from '../machines/ports/check.js';
import type { ConnectionDataEvent, ConnectionEmitted, ConnectionLogEvent, ConnectionState } from '../machines/events.js';
import { topState } from '../machines/state.js';

/**
 * Every event an actor emits with `emit()`, as an Observable. Completes when
 * the subscriber unsubscribes; listening costs nothing once unsubscribed.
 */
export function emitted$<T extends { type: string } = ConnectionEmitted>(actor: AnyActorRef, type = '*'): Observable<T> {
  check.shape(actor, 'actor', { on: 'function' }, 'an XState actor ref');
  return new Observable<T>((subscriber) => {
    const sub = actor.on(type, (event: T) => subscriber.next(event));
    return () => sub.unsubscribe();
  });
}

/** A connection's structured log events (`EVENT_*`), without inbound data. */
export function connectionEvents$(actor: AnyActorRef): Observable<ConnectionLogEvent> {
  return emitted$(actor).pipe(filter((event): event is ConnectionLogEvent => event.type !== 'DATA'));
}

/** A connection's inbound data. */
export function connectionData$(actor: AnyActorRef): Observable<ConnectionDataEvent> {
  return emitted$<ConnectionDataEvent>(actor, 'DATA');
}

/** A connection's top-level state, on every change (starting with the current one). */
export function connectionState$(actor: AnyActorRef): Observable<ConnectionState> {
  // XState actors emit only new snapshots; a state stream starts with the current one.
  return defer(() => from(actor).pipe(startWith(actor.getSnapshot()))).pipe(
    map((snapshot) => topState(snapshot)),
    distinctUntilChanged(),
  );
}
