// The BigQuery emulator (bqemulator, installed by scripts/setup-peers.sh into its own venv) for
// tests: one emulator per test file on free loopback ports, in memory, stopped in afterAll.
//
//   const bqMode = requirePeer('bqemulator', bqEmulatorAvailable);
//   const bq = useBigQueryEmulator({ gcsLocalRoot });   // one emulator per file
//   describe.skipIf(bqMode === 'skip')('...', () => { … bq.emulator.endpoint … });
//
// `gcsLocalRoot`: the emulator resolves a load job's gs://bucket/path under this directory
// (BQEMU_GCS_LOCAL_ROOT); it cannot read gs:// from a GCS emulator (see README, "BigQuery").
import { dirname } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { bqEmulatorBinaryPath, startBqEmulator, type RunningBqEmulator } from '../../src/dev/bigquery-emulator.ts';
import { executable } from '../../src/dev/loopback.ts';

// The same starter the GCP demo uses (src/dev/bigquery-emulator.ts): the tests add the per-file lifecycle.

/** $LAKELET_BQEMULATOR_VENV/bin/bqemulator, default <repo>/.tools/bqemulator-venv (as scripts/setup-peers.sh). */
export const bqEmulatorBinary: string = bqEmulatorBinaryPath();
/** Its venv (the folder two levels above the binary). */
export const bqEmulatorVenv: string = dirname(dirname(bqEmulatorBinary));

export const bqEmulatorAvailable: boolean = executable(bqEmulatorBinary);

/** `endpoint` is `http://127.0.0.1:<port>`: what BIGQUERY_EMULATOR_HOST takes. */
export type BigQueryEmulator = RunningBqEmulator;

export function startBigQueryEmulator(options: { project?: string; gcsLocalRoot?: string } = {}): Promise<BigQueryEmulator> {
  return startBqEmulator(bqEmulatorBinary, options.project ?? 'lakelet-test', options);
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
