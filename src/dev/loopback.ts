import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';

/**
 * What every local emulator and throwaway server (the demo's, the benchmarks', the tests') needs
 * before it starts: a free loopback port and an executable binary.
 */

/** A loopback port that was free a moment ago (the caller binds it right after; a lost race is retried there). */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

/** True when `file` exists and may be executed. */
export function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
