/** `statewire/serial`: the serial-port transport (serialport 13, an optional peer dependency) and its errors. */
export {
  serialTransport,
  PARITIES,
  STOP_BITS,
  type SerialTransportOptions,
  type SerialParity,
  type SerialStopBits,
  type SerialBinding,
} from './serial.transport.js';
export {
  SerialPortError,
  SerialPortNotFoundError,
  SerialPermissionDeniedError,
  SerialPortLockedError,
  SerialIOError,
  SerialOpenError,
} from './errors.js';
// Kenwood CAT (TS-590S family): framing and command helpers, and a rig emulator for development and tests.
export {
  catFrames,
  CAT_MODES,
  CAT_TERMINATOR,
  MIN_FREQUENCY_HZ,
  MAX_FREQUENCY_HZ,
  MIN_POWER_W,
  MAX_POWER_W,
  METER_TO_WATTS,
  checkFrequency,
  formatFrequency,
  parseFrequency,
  formatMode,
  parseMode,
  formatPower,
  parsePower,
  meterToWatts,
  wattsToMeter,
  parseMeter,
  formatPowerStatus,
  parsePowerStatus,
  parseInfo,
  formatInfo,
  type CatFramesOptions,
  type CatGarbage,
  type CatInfo,
  type CatMode,
  type Vfo,
} from './cat/codec.js';
export { createRigEmulator, TS590S_ID, type RigEmulator, type RigEmulatorOptions, type RigPort, type RigState } from './cat/rig-emulator.js';
export { mockRig, type MockRig, type MockRigOptions } from './cat/mock-rig.js';
export {
  catClient,
  CatTimeoutError,
  CatRejectedError,
  CatLinkLostError,
  DEFAULT_CAT_TIMEOUT_MS,
  DEFAULT_CAT_RETRIES,
  DEFAULT_CAT_BUSY_DELAY_MS,
  type CatClient,
  type CatClientOptions,
} from './cat/cat-client.js';
// The radio link (the seed's ConnectionManager) and its power monitor.
export {
  PowerMonitor,
  POWER_POLL_INTERVAL,
  POWER_ZERO_THRESHOLD,
  POWER_WARNING_COUNT,
  POWER_CRITICAL_COUNT,
  POWER_HISTORY_SIZE,
  type PowerAlarm,
  type PowerLevel,
  type PowerTrend,
  type PowerMonitorOptions,
} from './cat/power-monitor.js';
export {
  RadioLink,
  healthScore,
  powerReadings,
  MONITOR_INTERVAL,
  HEALTH_WINDOW_MS,
  RX_WRITE_WAIT_MS,
  type PowerReading,
  type RadioLinkOptions,
  type RadioLinkStatus,
} from './cat/radio-link.js';
