import { csv } from '../support/workspace.ts';
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
