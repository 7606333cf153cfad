/**
 * The platform serialport binding, with one defect fixed: a hang-up seen as
 * a read of 0 bytes.
 *
 * serialport's Unix read (`@serialport/bindings-cpp` 12, `unixRead`) answers a
 * read that returns 0 bytes by reading again at once, recursively, without
 * waiting (serialport/bindings-cpp#162, open). Ports are opened with VMIN=1,
 * so 0 bytes is end of file: the other side hung up (a pty whose socat
 * died, in about 1 kill in 10 here; the rest report EBADF). The recursion
 * spins a core, and its chain of promises grows until the process runs out
 * of memory (seen at 4 GB in our contract suite), while the link never
 * learns it is gone.
 *
 * Here each opened port's `read` is replaced by the same loop with that one
 * case changed: 0 bytes rejects with a disconnect error (`EIO`, `disconnect:
 * true`), so serialport closes the port and the link ends as lost with a
 * `SerialIOError`, exactly like the EBADF case. Everything else (EAGAIN:
 * wait for the poller's `readable`) is as serialport does it.
 */
import { read } from 'node:fs';
import { promisify } from 'node:util';

const readAsync = promisify(read);

/** The parts of a Unix port binding the read uses (`LinuxPortBinding`, `DarwinPortBinding`). */
interface UnixPortBinding {
  readonly isOpen: boolean;
  fd: number | null;
  poller?: { once(event: 'readable', listener: (err?: Error | null) => void): unknown };
  read(buffer: Buffer, offset: number, length: number): Promise<{ bytesRead: number; buffer: Buffer }>;
}

interface Binding {
  open(options: object): Promise<unknown>;
  list(): Promise<unknown[]>;
}

function portClosed(): Error {
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

async function readOrHangUp(port: UnixPortBinding, buffer: Buffer, offset: number, length: number): Promise<{ bytesRead: number; buffer: Buffer }> {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw portClosed();
    try {
      const { bytesRead } = await readAsync(port.fd, buffer, offset, length, null);
      if (bytesRead === 0) throw Object.assign(new Error('EIO: the other side hung up (read returned 0 bytes)'), { code: 'EIO', disconnect: true });
      return { bytesRead, buffer };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') {
        if (!port.isOpen || !port.poller) throw portClosed();
        await new Promise<void>((resolve, reject) => port.poller!.once('readable', (e) => (e ? reject(e) : resolve())));
        continue;
      }
      if (code === 'EBADF' || code === 'ENXIO' || code === 'UNKNOWN' || (err as NodeJS.ErrnoException).errno === -1) {
        (err as { disconnect?: boolean }).disconnect = true;
      }
      throw err;
    }
  }
}

/** `binding` whose Unix ports report a 0-byte read as a hang-up; other bindings (Windows, mocks) unchanged. */
export function hangUpAware<B extends Binding>(binding: B): B {
  if (process.platform === 'win32') return binding;
  return {
    ...binding,
    list: () => binding.list(),
    async open(options: object) {
      const port = (await binding.open(options)) as UnixPortBinding;
      if (typeof port?.fd === 'number' && port.poller) port.read = (buffer, offset, length) => readOrHangUp(port, buffer, offset, length);
      return port;
    },
  };
}
