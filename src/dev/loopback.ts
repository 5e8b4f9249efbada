import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';

/**
 * What every local emulator and throwaway server (the demo's, the benchmarks', the tests') needs:
 * a free loopback port, an executable binary, and a start that waits until the server answers.
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

export interface LoopbackChild {
  /** Stops the child (SIGTERM; SIGKILL after `killAfterMs` when it does not exit). */
  stop(): Promise<void>;
}

/**
 * Starts a server as a child process on fresh loopback ports and waits until `readyUrl` answers
 * 2xx, up to three attempts (a port taken between freePort() and the child's bind, or a child that
 * dies, is retried on new ports). `ports` fresh ports are handed to `argv`. Undefined with the
 * child's last output when every attempt failed, so the caller raises its own typed error.
 */
export async function startUntilReady(spec: {
  binary: string;
  ports: number;
  argv: (ports: number[]) => string[];
  readyUrl: (ports: number[]) => string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  pollMs: number;
  killAfterMs?: number;
}): Promise<{ ports: number[]; child: LoopbackChild } | { failed: string }> {
  let last = '';
  for (let tries = 0; tries < 3; tries++) {
    const ports: number[] = [];
    for (let i = 0; i < spec.ports; i++) ports.push(await freePort());
    if (new Set(ports).size !== ports.length) continue;
    const child = spawn(spec.binary, spec.argv(ports), { stdio: ['ignore', 'pipe', 'pipe'], env: spec.env ?? process.env });
    let out = '';
    const keep = (b: Buffer) => (out = (out + b.toString()).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
    const running = () => child.exitCode === null && child.signalCode === null;
    const deadline = Date.now() + spec.timeoutMs;
    let up = false;
    while (!up && Date.now() < deadline && running()) {
      up = await fetch(spec.readyUrl(ports)).then((r) => r.ok, () => false);
      if (!up) await new Promise((r) => setTimeout(r, spec.pollMs));
    }
    if (!up) {
      last = out;
      child.kill('SIGKILL');
      await exited;
      continue;
    }
    const stop = async () => {
      if (!running()) return;
      child.kill('SIGTERM');
      // A server that drains slowly (or hangs) must not keep the caller from ending.
      const killer = spec.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), spec.killAfterMs);
      await exited;
      clearTimeout(killer);
    };
    return { ports, child: { stop } };
  }
  return { failed: last.trim() || 'no output' };
}
