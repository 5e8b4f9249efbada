import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LakeletError } from '../errors/lakelet-error.ts';
import { executable, startUntilReady } from './loopback.ts';

/**
 * bqemulator (the BigQuery emulator scripts/setup-peers.sh installs into .tools/bqemulator-venv)
 * for the GCP demo, the BigQuery benchmark and the tests (test/support/bigquery-emulator.ts adds
 * the per-file lifecycle): started on free loopback ports, in memory, and stopped by them.
 * Not a product dependency: lakelet talks to whatever BIGQUERY_EMULATOR_HOST or Google says.
 */

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

export class BigQueryEmulatorError extends LakeletError {
  constructor(message: string) {
    super('BIGQUERY_EMULATOR', message);
  }
}

/** $LAKELET_BQEMULATOR_VENV or <repo>/.tools/bqemulator-venv (as setup-peers.sh and the tests). */
export function bqEmulatorBinaryPath(): string {
  const venv = process.env.LAKELET_BQEMULATOR_VENV ? resolve(process.env.LAKELET_BQEMULATOR_VENV) : join(REPO, '.tools', 'bqemulator-venv');
  return join(venv, 'bin', 'bqemulator');
}

/**
 * The emulator's binary, installing it first when missing (setup-peers.sh's bigquery section, which
 * `say` announces: 1–2 minutes the first time). `{ missing }` when it cannot be had — no Python
 * (the venv needs python3 ≥ 3.10, or $PYTHON as the setup script reads it), or the installation
 * failed (offline, no python3-venv): the demo then runs its Cloud Storage part only.
 */
export function ensureBqEmulator(say: (line: string) => void): { binary: string } | { missing: string } {
  const binary = bqEmulatorBinaryPath();
  if (executable(binary)) return { binary };
  const python = process.env.PYTHON ?? 'python3';
  const probe = spawnSync(python, ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    return { missing: `Python is missing ('${python}' does not run): the BigQuery emulator (bqemulator) needs Python 3.10+ (Debian: apt-get install python3 python3-venv)` };
  }
  say(`the BigQuery emulator is not installed yet (${binary}): installing bqemulator into its venv now (scripts/setup-peers.sh --section bigquery_emulator; takes about 1–2 minutes the first time, cached after that)...`);
  const install = spawnSync('bash', [join(REPO, 'scripts', 'setup-peers.sh'), '--section', 'bigquery_emulator'], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
  if (install.status !== 0 || !executable(binary)) {
    return { missing: `installing bqemulator failed (exit ${install.status ?? install.signal}; see the setup output above, or run 'bash scripts/setup-peers.sh --section bigquery_emulator')` };
  }
  return { binary };
}

export interface RunningBqEmulator {
  /** `http://127.0.0.1:<port>`: the value for BIGQUERY_EMULATOR_HOST. */
  endpoint: string;
  project: string;
  stop(): Promise<void>;
}

/**
 * Starts it for `project` (a BigQuery project id the emulator serves); waits for /readyz (up to 60 s:
 * Python's imports). `gcsLocalRoot`: where it resolves a load job's gs://bucket/path
 * (BQEMU_GCS_LOCAL_ROOT); it cannot read gs:// from a GCS emulator.
 */
export async function startBqEmulator(binary: string, project: string, options: { gcsLocalRoot?: string } = {}): Promise<RunningBqEmulator> {
  const started = await startUntilReady({
    binary,
    ports: 2,
    argv: ([rest, grpc]) => ['start', '--project', project, '--rest-host', '127.0.0.1', '--rest-port', String(rest), '--grpc-host', '127.0.0.1', '--grpc-port', String(grpc), '--ephemeral', '--log-level', 'warning'],
    readyUrl: ([rest]) => `http://127.0.0.1:${rest}/readyz`,
    // No network: a DuckDB that wanted to download an extension fails at once instead of hanging.
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...(options.gcsLocalRoot ? { BQEMU_GCS_LOCAL_ROOT: options.gcsLocalRoot } : {}) },
    timeoutMs: 60_000,
    pollMs: 100,
    // uvicorn drains first; a hung one must not keep the demo from ending.
    killAfterMs: 5_000,
  });
  if ('failed' in started) throw new BigQueryEmulatorError(`bqemulator did not start: ${started.failed}`);
  return { endpoint: `http://127.0.0.1:${started.ports[0]}`, project, stop: () => started.child.stop() };
}
