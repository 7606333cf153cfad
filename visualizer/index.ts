/** `statewire/visualizer`: watch a supervisor's connections live in the browser. */
export { serveVisualizer, toWire, type Visualizer, type VisualizerOptions } from './server.js';
export { DEFAULT_POWER_THRESHOLDS, type PowerReading, type PowerThresholds } from './power.js';
export { serveReplay, type ReplayOptions } from './replay-server.js';
export { loadRecording, ReplayCursor, ReplayIndex, type RecordingFile, type ReplayNews } from './replay.js';
export { FleetModel, type FleetCounts, type FleetRow } from './fleet.js';
export { machineConfig, machineGraph, type MachineGraph, type GraphEdge, type GraphState } from './graph.js';
