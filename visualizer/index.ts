/** `statewire/visualizer`: watch a supervisor's connections live in the browser. */
export { serveVisualizer, toWire, type Visualizer, type VisualizerOptions } from './server.js';
export type { PowerReading } from './power.js';
export { machineConfig, machineGraph, type MachineGraph, type GraphEdge, type GraphState } from './graph.js';
