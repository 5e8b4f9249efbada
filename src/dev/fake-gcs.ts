import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LakeletError } from '../errors/lakelet-error.ts';
import { executable, startUntilReady } from './loopback.ts';

/**
 * fake-gcs-server (the GCS emulator scripts/setup-peers.sh builds into .tools/bin) for the GCS demo,
 * the benchmark and the tests (test/support/gcs-emulator.ts adds the per-file lifecycle): started
 * on a free loopback port with the in-memory backend, stopped by them.
 * Not a product dependency: lakelet itself talks to whatever STORAGE_EMULATOR_HOST or Google says.
 */

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

/** $LAKELET_FAKE_GCS_SERVER or <repo>/.tools/bin/fake-gcs-server (as test/support/gcs-emulator.ts). */
export function fakeGcsBinaryPath(): string {
  return process.env.LAKELET_FAKE_GCS_SERVER ? resolve(process.env.LAKELET_FAKE_GCS_SERVER) : join(REPO, '.tools', 'bin', 'fake-gcs-server');
}

export class EmulatorError extends LakeletError {
  constructor(message: string) {
    super('GCS_EMULATOR', message);
  }
}

/**
 * The binary, building it first when it is missing (setup-peers.sh's Go section: about 2.5 minutes
 * on two cores the first time, which `say` announces; cached afterwards).
 */
export function ensureFakeGcsBinary(say: (line: string) => void): string {
  const binary = fakeGcsBinaryPath();
  if (executable(binary)) return binary;
  if (process.env.LAKELET_FAKE_GCS_SERVER) {
    throw new EmulatorError(`LAKELET_FAKE_GCS_SERVER=${process.env.LAKELET_FAKE_GCS_SERVER}: no executable there; unset it to use (and build) .tools/bin/fake-gcs-server.`);
  }
  say(`fake-gcs-server is not built yet (${binary}): building it with Go now (scripts/setup-peers.sh, about 2.5 minutes the first time on 2 cores; cached after that)...`);
  const build = spawnSync('bash', [join(REPO, 'scripts', 'setup-peers.sh'), '--section', 'go_emulators'], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
  if (build.status !== 0 || !executable(binary)) {
    throw new EmulatorError(`could not build fake-gcs-server (exit ${build.status ?? build.signal}); it needs Go (apt-get install golang-go) and the Go module proxy. Run 'bash scripts/setup-peers.sh' to see why.`);
  }
  return binary;
}

export interface RunningFakeGcs {
  /** `http://127.0.0.1:<port>`: the value for STORAGE_EMULATOR_HOST. */
  endpoint: string;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startFakeGcsServer(binary: string): Promise<RunningFakeGcs> {
  const started = await startUntilReady({
    binary,
    ports: 1,
    argv: ([port]) => ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'memory', '-public-host', `127.0.0.1:${port}`, '-log-level', 'error'],
    readyUrl: ([port]) => `http://127.0.0.1:${port}/storage/v1/b?project=lakelet`,
    timeoutMs: 30_000,
    pollMs: 50,
  });
  if ('failed' in started) throw new EmulatorError(`fake-gcs-server did not start: ${started.failed}`);
  const endpoint = `http://127.0.0.1:${started.ports[0]}`;
  return {
    endpoint,
    async createBucket(name: string) {
      const res = await fetch(`${endpoint}/storage/v1/b?project=lakelet`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
      if (!res.ok) throw new EmulatorError(`fake-gcs-server: creating bucket ${name} answered ${res.status}: ${await res.text()}`);
    },
    stop: () => started.child.stop(),
  };
}
