import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import type { Compute } from '../../src/adapters/compute/compute.ts';
import { systemClock } from '../../src/adapters/clock.ts';
import { DeltaIngestionLog } from '../../src/warehouse/delta/ingestion-log.ts';
import type { LogRow } from '../../src/warehouse/warehouse.ts';
import { tempDir } from '../support/temp.ts';

/**
 * The Delta ingestion log writes a batch's rows as plain literals typed once per column (issue 13,
 * point 5: a CAST per literal cost more than the rows). Every column must keep its type and value:
 * NULLs (a column NULL in every row too), quotes, booleans, big numbers, timestamps.
 */
let done: (() => void)[] = [];
afterEach(() => {
  for (const d of done.splice(0)) d();
});

const row = (over: Partial<LogRow>): LogRow => ({
  pipeline: 'p', batch: 1, file_name: 'a.csv', size: 10, sha256: 'ab', records: 3, rows_rejected: 0, rows_rescued: 0, status: 'merged',
  stage_version: 0, target_version: 1, read_ms: 1, stage_ms: 2, merge_ms: 3, total_ms: 6, error: null, repaired: false, repairs: null,
  moved_to: null, logged_at: Date.UTC(2024, 4, 1, 12, 0, 0, 123), ...over,
});

describe('Delta ingestion log rows', () => {
  it('keep their types and values through the write, and a batch is appended once', async () => {
    const { dir, cleanup } = tempDir();
    const compute: Compute = await openCompute();
    const log = await DeltaIngestionLog.open(join(dir, 'log'), { compute, clock: systemClock });
    done.push(cleanup, () => compute.close(), () => log.close());
    const rows = [
      row({ file_name: "it's \"quoted\".csv", size: 9_007_199_254_740_991, stage_version: null, target_version: null, error: 'csv: bad', repaired: true, repairs: 'x; y', status: 'quarantined' }),
      row({ file_name: 'b.csv', batch: 1, moved_to: 'file:///archive/b.csv' }),
    ];
    const v = await log.append('p', 1, rows);
    expect(await log.append('p', 1, rows)).toBe(v);
    // A batch whose text columns are NULL in every row.
    await log.append('p', 2, [row({ batch: 2, file_name: 'c.csv' })]);
    const snap = await log.table.snapshot();
    expect(snap.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ['pipeline', 'string'], ['batch', 'long'], ['file_name', 'string'], ['size', 'long'], ['sha256', 'string'], ['records', 'long'],
      ['rows_rejected', 'long'], ['rows_rescued', 'long'], ['status', 'string'], ['stage_version', 'long'], ['target_version', 'long'],
      ['read_ms', 'long'], ['stage_ms', 'long'], ['merge_ms', 'long'], ['total_ms', 'long'], ['error', 'string'], ['repaired', 'boolean'],
      ['repairs', 'string'], ['moved_to', 'string'], ['logged_at', 'timestamp'],
    ]);
    const scan = await log.table.scan();
    const read = await compute.query<Record<string, unknown>>(
      `SELECT batch::VARCHAR AS batch, file_name, size::VARCHAR AS size, stage_version, error, repaired, repairs, moved_to, strftime(logged_at, '%Y-%m-%dT%H:%M:%S.%g') AS logged_at FROM (${scan.sql}) ORDER BY batch, file_name`,
    );
    await scan.release();
    expect(read).toEqual([
      { batch: '1', file_name: 'b.csv', size: '10', stage_version: '0', error: null, repaired: false, repairs: null, moved_to: 'file:///archive/b.csv', logged_at: '2024-05-01T12:00:00.123' },
      { batch: '1', file_name: "it's \"quoted\".csv", size: '9007199254740991', stage_version: null, error: 'csv: bad', repaired: true, repairs: 'x; y', moved_to: null, logged_at: '2024-05-01T12:00:00.123' },
      { batch: '2', file_name: 'c.csv', size: '10', stage_version: '0', error: null, repaired: false, repairs: null, moved_to: null, logged_at: '2024-05-01T12:00:00.123' },
    ]);
  });
});
