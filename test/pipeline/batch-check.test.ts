import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';

/**
 * Issue 13, point 5: a batch of small files is checked in one statement, files are staged without
 * a filter when they have no bad record, and a lone file is read with its predecessor's column
 * types. None of it may change which file is taken, which rows are staged, or how they are numbered.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const yaml = (keys: PipelineKeys = {}) => pipelineYaml({ transforms: { n: { cast: 'INTEGER' } }, ...keys }, { stateDir: './state' });
const numbers = (from: number, count: number) => Array.from({ length: count }, (_, i) => [from + i, (from + i) * 10]);


describe('files of one batch checked together', () => {
  it('fail-file: a value that does not cast quarantines its own file only, with the error naming it', async () => {
    ws = new Workspace(yaml({ badRecords: 'fail-file' }));
    ws.land('landing/a.csv', csv('id,n', numbers(1, 5)));
    ws.land('landing/b.csv', csv('id,n', numbers(6, 5)));
    ws.land('landing/c.csv', csv('id,n', [[11, 110], [12, 'twelve'], [13, 130]]));
    ws.land('landing/d.csv', csv('id,n', numbers(14, 5)));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ batches: 1, staged: 3, quarantined: 1 });
    expect(ws.quarantineError('c.csv')).toMatchObject({ kind: 'cast' });
    expect(String(ws.quarantineError('c.csv').error)).toContain('twelve');
    const ids = (await ws.rows('tables/target', 'id')).map((r) => Number(r.id)).sort((x, y) => x - y);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18]);
    expect(ws.files('landing')).toEqual([]);
  });

  it('quarantine-file: stage rows are numbered in file order, a file with left-out records 1.. over the rows it keeps', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/a.csv', csv('id,n', numbers(1, 4)));
    // One bad value in 12 records (under the default badRecordsLimit of 10%): that record is left out.
    const b = numbers(5, 12).map((r) => (r[0] === 7 ? [7, 'seven'] : r));
    ws.land('landing/b.csv', csv('id,n', b));
    ws.land('landing/c.csv', csv('id,n', numbers(17, 3)));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ batches: 1, staged: 3, quarantined: 0, rowsRejected: 1 });
    const stage = await ws.rows('tables/stage', '_source_file, _row_number');
    const kept = [5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    expect(stage.map((r) => [r._source_file, Number(r.id), Number(r._row_number)])).toEqual([
      ...[1, 2, 3, 4].map((id, i) => ['a.csv', id, i + 1]),
      ...kept.map((id, i) => ['b.csv', id, i + 1]),
      ...[17, 18, 19].map((id, i) => ['c.csv', id, i + 1]),
    ]);
  });

  it('files read into one table are checked and staged as one SELECT: each row keeps its file and number, a bad value stays with its file', async () => {
    // amount reads as DOUBLE in every file (so b..f are read together with a's types); 12345.5 does
    // not fit DECIMAL(4,1): d's record is left out, and only d's.
    ws = new Workspace(yaml({ transforms: { amount: { cast: 'DECIMAL(4,1)' } } }));
    const rows = (from: number, count: number) => Array.from({ length: count }, (_, i) => [from + i, `${(from + i) % 90}.5`]);
    ws.land('landing/a.csv', csv('id,amount', rows(1, 4)));
    ws.land('landing/b.csv', csv('id,amount', rows(5, 10)));
    ws.land('landing/c.csv', csv('id,amount', rows(15, 10)));
    ws.land('landing/d.csv', csv('id,amount', rows(25, 10).map((r) => (r[0] === 27 ? [27, '12345.5'] : r))));
    ws.land('landing/e.csv', csv('id,amount', rows(35, 10)));
    ws.land('landing/f.csv', csv('id,amount', rows(45, 10)));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ batches: 1, staged: 6, quarantined: 0, rowsStaged: 53, rowsRejected: 1 });
    const stage = await ws.rows('tables/stage', '_source_file, _row_number');
    const numbered = (file: string, ids: number[]) => ids.map((id, i) => [file, id, i + 1]);
    const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
    expect(stage.map((r) => [r._source_file, Number(r.id), Number(r._row_number)])).toEqual([
      ...numbered('a.csv', range(1, 4)),
      ...numbered('b.csv', range(5, 10)),
      ...numbered('c.csv', range(15, 10)),
      ...numbered('d.csv', range(25, 10).filter((id) => id !== 27)),
      ...numbered('e.csv', range(35, 10)),
      ...numbered('f.csv', range(45, 10)),
    ]);
    const bad = ws.files('quarantine').filter((f) => f.endsWith('.bad-records.ndjson'));
    expect(bad.map((f) => f.split('/').pop())).toEqual(['d.csv.bad-records.ndjson']);
    expect(readFileSync(join(ws.dir, 'quarantine', bad[0]), 'utf8')).toContain('12345.5');
    // The checks ran as one statement: a combined check that failed for no file's fault says so.
    expect(ws.events.filter((e) => e.event === 'batch.check-fallback')).toEqual([]);
    const target = await ws.rows('tables/target', 'id');
    expect(target.map((r) => Number(r.id))).toEqual(range(1, 54).filter((id) => id !== 27));
  });
});

describe('a file alone in its batch', () => {
  it("is read with the previous batch's column types, and sniffed afresh when its values do not fit them", async () => {
    ws = new Workspace(yaml({ transforms: {}, batch: { maxFiles: 1 } }));
    ws.land('landing/a.csv', csv('id,n', numbers(1, 3)));
    ws.land('landing/b.csv', csv('id,n', numbers(4, 3)));
    // n no longer fits the BIGINT the earlier files had (8.5 is not rounded to 9): read with its
    // own types, the value does not fit the stage's column and its record is left out.
    ws.land('landing/c.csv', csv('id,n', numbers(7, 12).map((r) => (r[0] === 8 ? [8, 8.5] : r))));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ batches: 3, staged: 3, quarantined: 0, rowsRejected: 1 });
    const target = await ws.rows('tables/target', 'id');
    expect(target.map((r) => [Number(r.id), Number(r.n)])).toEqual(numbers(1, 18).filter((r) => r[0] !== 8));
  });
});
