// The BigQuery emulator (bqemulator, installed by scripts/setup-peers.sh into its own venv) for
// tests: one emulator per test file on free loopback ports, in memory, stopped in afterAll.
//
//   const bqMode = requirePeer('bqemulator', bqEmulatorAvailable);
//   const bq = useBigQueryEmulator({ gcsLocalRoot });   // one emulator per file
//   describe.skipIf(bqMode === 'skip')('...', () => { … bq.emulator.endpoint … });
//
// `gcsLocalRoot`: the emulator resolves a load job's gs://bucket/path under this directory
// (BQEMU_GCS_LOCAL_ROOT); it cannot read gs:// from a GCS emulator (see README, "BigQuery").
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { repoRoot } from './peers.ts';

/** The venv: $LAKELET_BQEMULATOR_VENV or <repo>/.tools/bqemulator-venv (as scripts/setup-peers.sh). */
export const bqEmulatorVenv: string = process.env.LAKELET_BQEMULATOR_VENV
  ? path.resolve(process.env.LAKELET_BQEMULATOR_VENV)
  : path.join(repoRoot, '.tools', 'bqemulator-venv');
export const bqEmulatorBinary: string = path.join(bqEmulatorVenv, 'bin', 'bqemulator');

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const bqEmulatorAvailable: boolean = executable(bqEmulatorBinary);

export interface BigQueryEmulator {
  /** `http://127.0.0.1:<port>`: what BIGQUERY_EMULATOR_HOST takes. */
  endpoint: string;
  project: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function ready(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`bqemulator exited (${child.exitCode ?? child.signalCode}) before answering: ${output()}`);
    }
    try {
      const res = await fetch(`${endpoint}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`bqemulator did not answer at ${endpoint} within 60 s: ${output()}`);
}

export async function startBigQueryEmulator(options: { project?: string; gcsLocalRoot?: string } = {}): Promise<BigQueryEmulator> {
  const project = options.project ?? 'lakelet-test';
  let lastError: unknown;
  for (let tries = 0; tries < 3; tries++) {
    const [rest, grpc] = [await freePort(), await freePort()];
    if (rest === grpc) continue;
    const endpoint = `http://127.0.0.1:${rest}`;
    const child = spawn(
      bqEmulatorBinary,
      ['start', '--project', project, '--rest-host', '127.0.0.1', '--rest-port', String(rest), '--grpc-host', '127.0.0.1', '--grpc-port', String(grpc), '--ephemeral', '--log-level', 'warning'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        // No network: a DuckDB that wanted to download an extension fails at once instead of hanging.
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...(options.gcsLocalRoot ? { BQEMU_GCS_LOCAL_ROOT: options.gcsLocalRoot } : {}) },
      },
    );
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
    child.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
    try {
      await ready(endpoint, child, () => out);
    } catch (err) {
      lastError = err;
      child.kill('SIGKILL');
      continue;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      endpoint,
      project,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(killer);
        }
      },
    };
  }
  throw lastError;
}

/** One emulator for a whole test file (nothing starts when it is not installed: requirePeer decides). */
export function useBigQueryEmulator(options: { project?: string; gcsLocalRoot?: string } = {}): { readonly emulator: BigQueryEmulator } {
  let current: BigQueryEmulator | undefined;
  beforeAll(async () => {
    if (!bqEmulatorAvailable) return;
    current = await startBigQueryEmulator(options);
  }, 90_000);
  afterAll(async () => {
    await current?.stop();
  });
  return {
    get emulator(): BigQueryEmulator {
      if (!current) throw new Error('bqemulator is not running (see test/support/bigquery-emulator.ts)');
      return current;
    },
  };
}
