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
