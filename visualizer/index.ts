/** `statewire/visualizer`: watch a supervisor's connections live in the browser. */
export { serveVisualizer, toWire, type Visualizer, type VisualizerOptions } from './server.js';
export type { PowerReading } from './power.js';
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
