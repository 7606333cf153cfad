/**
 * statewire: every connection an explicit XState v5 statechart, supervised,
 * with RxJS streams. Every export is named here, grouped by layer.
 */

// Machines (pure: xstate only)
export { connectionMachine, type ConnectionContext, type ConnectionEvent } from '../machines/connection.machine.js';
export {
  supervisorMachine,
  type ConnectionRef,
  type ExitKind,
  type ResolvedChildSpec,
  type RestartType,
  type Strategy,
  type SupervisorContext,
  type SupervisorEmitted,
  type SupervisorEvent,
} from '../machines/supervisor.machine.js';
export { transportActor, type TransportActorInput } from '../machines/transport.actor.js';
export { backoffDelay, seededRandom } from '../machines/backoff.js';
export {
  defaultPolicy,
  defaultRestartBackoff,
  resolveBackoff,
  resolvePolicy,
  type BackoffPolicy,
  type JitterMode,
  type ReconnectPolicy,
} from '../machines/policy.js';
export { enqueue as enqueueOutbox, resolveOutbox, type OutboxOptions, type OverflowPolicy } from '../machines/outbox.js';
export {
  ConnectionState,
  LogEvent,
  type ConnectionCommand,
  type ConnectionDataEvent,
  type ConnectionEmitted,
  type ConnectionEventData,
  type ConnectionInput,
  type ConnectionLogEvent,
  type ConnectionOutput,
  type LogEventOf,
  type LogEventType,
  type NoData,
  type OutboxEntry,
  type SendTicket,
} from '../machines/events.js';
export { inState, topState } from '../machines/state.js';
export type { LinkRegistry } from '../machines/link-registry.js';
export { clockNow, nowOf, realClock, type Clock } from '../machines/ports/clock.js';

// Actors (the supervisor handle, RxJS bridges)
export {
  createSupervisor,
  defaultLogger,
  silentLogger,
  type AdoptOptions,
  type BroadcastOptions,
  type BroadcastResult,
  type ChildInfo,
  type ChildSpec,
  type Logger,
  type SendOptions,
  type Supervisor,
  type SupervisorOptions,
} from './supervisor.js';
export { connectionData$, connectionEvents$, connectionState$, emitted$ } from './streams.js';
export { connectedOutcome, type ConnectedOutcome, type ConnectionCommandType, type ConnectionExit, type ConnectionExitReason, type ConnectionHandle } from './connection-handle.js';
export { handleLink, type HandleLinkOptions } from './handle-link.js';
export { AckedDelivery, type AckedDeliveryOptions, type DeliveryErrors } from './delivery.js';
export { acceptedTransport } from './accepted-transport.js';
export { accept, type AcceptOptions, type AcceptedConnection, type Acceptor } from './acceptor.js';
export { RECORDING_FORMAT, RECORDING_VERSION, RecordingError, record, type RecordOptions, type Recording, type RecordingHeader } from './recorder.js';
export { applyFleetRecord, watchFleet, type ChildRecord, type FleetRecord, type FleetSource, type FleetWatch, type WatchFleetOptions } from './fleet-records.js';

// Transport contract
export type { Accepted, CloseInfo, ConnectOptions, Link, Listener, Payload, Transport } from '../machines/ports/transport.js';

// Errors
export {
  ClosedError,
  ConnectTimeoutError,
  ConnectionError,
  ConnectionFailedError,
  DuplicateIdError,
  LinkClosedError,
  ListenError,
  MessageDroppedError,
  OutboxOverflowError,
  StaleLinkError,
  StatewireError,
  SupervisorFailedError,
  UnknownConnectionError,
  describeError,
  isStatewireError,
  type DropReason,
  type ErrorCode,
  type ErrorCodes,
  type ErrorDescription,
  type SupervisorReport,
} from '../machines/ports/errors.js';
