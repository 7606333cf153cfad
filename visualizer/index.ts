/** `statewire/visualizer`: watch a supervisor's connections live in the browser. */
export { serveVisualizer, toWire, type Visualizer, type VisualizerOptions } from './server.js';
export { DEFAULT_POWER_THRESHOLDS, type PowerReading, type PowerThresholds } from './power.js';
export { serveReplay, type ReplayOptions } from './replay-server.js';
export { loadRecording, ReplayCursor, ReplayIndex, type RecordingFile, type ReplayNews } from './replay.js';
export { FleetModel, type FleetCounts, type FleetRow } from './fleet.js';
export {
  machineConfig,
  machineGraph,
  machineChart,
  transitionLabel,
  type MachineGraph,
  type GraphEdge,
  type GraphState,
  type MachineChart,
  type ChartState,
  type ChartTransition,
} from './graph.js';
export { layoutMachine, type MachineLayout, type LaidState, type LaidArrow, type LaidInitial, type Box, type TextBox, type Point } from './layout.js';
