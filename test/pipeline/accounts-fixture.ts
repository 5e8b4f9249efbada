import { expect } from 'vitest';
import type { CliRun } from '../support/cli.ts';
import { csv, type Workspace } from '../support/workspace.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';

/** The accounts pipeline of exactly-once.test.ts and crash-matrix.test.ts: an initial load, an incremental file, and the one right result. */
export const HEADER = 'customer_id,account_number,credit_score,account_balance,last_modified,op';
const accounts: PipelineKeys = { pattern: '*.csv', target: './tables/accounts', key: 'account_number', orderBy: 'last_modified', deletes: { column: 'op', values: ['D'] } };
export const yaml = (keys: PipelineKeys = {}) => pipelineYaml({ ...accounts, ...keys }, { name: 'accounts', stateDir: './state' });

export const initial = csv(HEADER, [
  ['C1', 'A1', 700, 100.5, '2024-01-01 00:00:00', 'I'],
  ['C2', 'A2', 650, 20, '2024-01-01 00:00:00', 'I'],
  ['C3', 'A3', 600, 5, '2024-01-01 00:00:00', 'I'],
  ['C4', 'A4', 610, 6, '2024-01-01 00:00:00', 'I'],
]);
export const incremental = csv(HEADER, [
  ['C1', 'A1', 710, 200, '2024-01-02 00:00:00', 'U'],
  ['C2', 'A2', 650, 20, '2024-01-02 00:00:00', 'D'],
  ['C5', 'A5', 800, 1, '2024-01-02 00:00:00', 'I'],
  // An older change arriving late never replaces a newer row.
  ['C3', 'A3', 100, 0, '2023-12-31 00:00:00', 'U'],
]);
export const expected = [
  { customer_id: 'C1', account_number: 'A1', credit_score: '710', account_balance: 200, last_modified: '2024-01-02 00:00:00' },
  { customer_id: 'C3', account_number: 'A3', credit_score: '600', account_balance: 5, last_modified: '2024-01-01 00:00:00' },
  { customer_id: 'C4', account_number: 'A4', credit_score: '610', account_balance: 6, last_modified: '2024-01-01 00:00:00' },
  { customer_id: 'C5', account_number: 'A5', credit_score: '800', account_balance: 1, last_modified: '2024-01-02 00:00:00' },
];

/** Where the crash matrix kills the run (LAKELET_CRASH_AT); `:2` only in the second batch (maxFiles: 2). */
export const CRASH_POINTS = ['after-manifest', 'after-quarantine', 'after-stage-commit', 'after-archive', 'after-target-commit', 'after-log', 'after-stage-commit:2', 'after-target-commit:2'];

/**
 * After a crash and one more run over initial.csv, broken.csv and incremental.csv: exactly what one
 * clean run gives — target, stage, moved files, log — wherever the folders live (`names` lists the
 * file names under landing/, archive/ or quarantine/).
 */
export async function expectOneCleanRun(
  ws: Workspace,
  again: CliRun,
  secondBatch: boolean,
  names: (folder: 'landing' | 'archive' | 'quarantine') => Promise<string[]>,
  // Where the tables are read from: the workspace's Delta tables, or another warehouse's (bigquery-pipeline.test.ts).
  tables: Pick<Workspace, 'rows' | 'log'> = ws,
): Promise<void> {
  // broken.csv is in batch 1: when the restart finishes that batch, not everything went in (exit 3);
  // when the crash was in batch 2, the crashed run had already finished batch 1 and this one quarantines nothing.
  expect(again.code, again.stderr).toBe(secondBatch ? 0 : 3);
  expect(JSON.parse(again.stdout).totals.recovered).toBe(1);
  expect(again.stderr).toContain('"event":"batch.recover"');
  // The target is exactly what one clean run gives.
  expect(await tables.rows('tables/accounts', 'account_number')).toEqual(expected);
  // Every source row staged exactly once.
  const stage = await tables.rows('tables/stage', '_source_file, _row_number');
  expect(stage.map((r) => `${r._source_file}#${r._row_number}`)).toEqual([...[1, 2, 3, 4].map((n) => `incremental.csv#${n}`), ...[1, 2, 3, 4].map((n) => `initial.csv#${n}`)]);
  // Each file moved exactly once; nothing left in landing.
  expect(await names('landing')).toEqual([]);
  expect(await names('archive')).toEqual(['incremental.csv', 'initial.csv']);
  expect(await names('quarantine')).toEqual(['broken.csv', 'broken.csv.error.json']);
  // One log row per file, consistent with the outcome.
  const log = await tables.log();
  expect(log.map((r) => [r.file_name, r.status, r.records]).sort()).toEqual([
    ['broken.csv', 'quarantined', '0'],
    ['incremental.csv', 'merged', '4'],
    ['initial.csv', 'merged', '4'],
  ]);
  for (const r of log.filter((x) => x.status === 'merged')) expect(r.target_version).not.toBeNull();
  // The lock was taken over from the killed process and released.
  expect(ws.files('state/accounts')).not.toContain('lock');
}
