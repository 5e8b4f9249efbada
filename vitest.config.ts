import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/support/sequencer.ts';

/**
 * Two projects, run one after the other:
 *
 * - `unit`: everything in-process (engine, adapters, warehouse, pipeline steps, conformance). Two
 *   workers (two cores; DuckDB already uses both), without per-file isolation: the files share one
 *   loaded module graph per worker instead of importing src/ again for every file.
 * - `process`: every file that starts child processes — the lakelet CLI (test/support/cli.ts),
 *   worker scripts and notebooks (test/support/process.ts), the delta-rs peer (test/support/peers.ts):
 *   crash matrices, watch, CLI behaviour, multi-process races, interop. Their workers mostly wait
 *   on a child that does the work, so three run at once. Also without per-file isolation (a fresh
 *   worker per file cost ~0.5 s of CPU each: Node, vitest, the SDKs' imports); what a file sets in
 *   process.env is undone after it (test/support/restore-env.ts).
 *
 * A file joins `process` by importing one of those helpers, so a new test lands in the right
 * project by itself. `unit` runs first: a failing unit test shows up within the first minute.
 */
const SPAWNING_HELPER = /from '(?:\.\.?\/)+support\/(?:cli|process|peers)\.ts'/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => relative(import.meta.dirname, join(e.parentPath, e.name)));
}

const processFiles = testFiles(join(import.meta.dirname, 'test')).filter((file) => SPAWNING_HELPER.test(readFileSync(file, 'utf8')));

/**
 * `process` files that still get a fresh worker each (project `process-isolated`, beside `process`):
 * gcs-open-requests counts every request its own process sends to a table's log; in a worker that
 * had run other gs:// files first it was seen to ask for the hint's (deleted) checkpoint twice.
 */
const isolatedFiles = ['test/adapters/storage/gcs-open-requests.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Builds dist/ once, so the CLI the tests spawn is the compiled one users run (bin/lakelet.cjs).
    globalSetup: ['./test/support/build-cli.ts'],
    // Longest files first, also in a fresh clone without vitest's cached durations (test/support/sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: processFiles,
          maxWorkers: 2,
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'process',
          include: processFiles,
          exclude: isolatedFiles,
          maxWorkers: 3,
          isolate: false,
          setupFiles: ['./test/support/restore-env.ts'],
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'process-isolated',
          include: isolatedFiles,
          // The same as 'process' (vitest requires it of projects that run together).
          maxWorkers: 3,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
