import { describe, expect, it } from 'vitest';
import { cpSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DeltaTable } from '../../../src/engine/table.ts';
import { InputError } from '../../../src/engine/errors.ts';
import { parseStats } from '../../../src/engine/delta/stats.ts';
import type { AddFile } from '../../../src/engine/delta/actions.ts';
import { dirOf } from '../../support/temp.ts';
import { useEngine } from '../../support/engine-fixture.ts';

const fx = useEngine('lakelet-optimize-');

let n = 0;
const freshTable = () => DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });

function commitJson(table: DeltaTable, version: number): Record<string, any>[] {
  const text = readFileSync(join(dirOf(table), '_delta_log', `${String(version).padStart(20, '0')}.json`), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l));
}

const sorted = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).sort();

/** Width of a column's [min, max] in a file's stats, averaged over files. */
function meanRange(files: AddFile[], column: string): number {
  const widths = files.map((f) => {
    const s = parseStats(f.stats)!;
    return Number(s.maxValues![column]) - Number(s.minValues![column]);
  });
  return widths.reduce((a, b) => a + b, 0) / widths.length;
}

describe('OPTIMIZE', () => {
  it('bin-packs small files per partition, rows unchanged, dataChange=false, Delta metrics', async () => {
    const t = await freshTable();
    for (let i = 0; i < 4; i++) {
      await t.write({ sql: `SELECT (range + ${i * 100})::BIGINT AS id, 'd' || (range % 2) AS day, 'x' || range AS s FROM range(50)` }).partitionBy('day').execute();
    }
    const before = await t.snapshot();
    expect(before.fileCount).toBe(8);
    const rowsBefore = sorted(await t.read());
    const res = await t.optimize().execute();
    expect(res.metrics).toMatchObject({
      numFilesAdded: 2,
      numFilesRemoved: 8,
      partitionsOptimized: 2,
      numBatches: 2,
      totalConsideredFiles: 8,
      totalFilesSkipped: 0,
    });
    expect(res.metrics.filesRemoved.totalFiles).toBe(8);
    expect(res.metrics.filesRemoved.totalSize).toBe(before.sizeInBytes);
    expect(res.metrics.filesAdded.totalFiles).toBe(2);
    expect(res.snapshot.fileCount).toBe(2);
    expect(sorted(await t.read())).toEqual(rowsBefore);
    for (const f of res.snapshot.files) expect(f.path).toMatch(/^day=d[01]\/part-/);

    const actions = commitJson(t, res.version);
    const info = actions.find((a) => a.commitInfo)!.commitInfo;
    expect(info.operation).toBe('OPTIMIZE');
    expect(info.operationParameters).toMatchObject({ predicate: '[]', zOrderBy: '[]', auto: 'false' });
    expect(JSON.parse(info.operationMetrics.filesAdded)).toMatchObject({ totalFiles: 2 });
    expect(info.operationMetrics.numFilesRemoved).toBe('8');
    expect(actions.filter((a) => a.add).every((a) => a.add.dataChange === false)).toBe(true);
    expect(actions.filter((a) => a.remove).every((a) => a.remove.dataChange === false)).toBe(true);
    expect(parseStats(res.snapshot.files[0].stats)!.numRecords).toBe(100);

    // Nothing left to compact: no commit.
    const again = await t.optimize().execute();
    expect(again.skipped).toMatch(/nothing to optimize/);
    expect(again.version).toBe(res.version);
    t.close();
  });

  it('respects a partition filter, minFileSize and leaves single-file partitions alone', async () => {
    const t = await freshTable();
    await t.write({ sql: `SELECT range::BIGINT AS id, 'a' AS p FROM range(10)` }).partitionBy('p').execute();
    await t.write({ sql: `SELECT range::BIGINT AS id, 'a' AS p FROM range(10)` }).execute();
    await t.write({ sql: `SELECT range::BIGINT AS id, 'b' AS p FROM range(10)` }).execute();
    await t.write({ sql: `SELECT range::BIGINT AS id, 'b' AS p FROM range(10)` }).execute();
    await t.write({ sql: `SELECT range::BIGINT AS id, 'c' AS p FROM range(10)` }).execute();
    const onlyA = await t.optimize().where("p = 'a'").execute();
    expect(onlyA.metrics).toMatchObject({ numFilesRemoved: 2, numFilesAdded: 1, totalConsideredFiles: 2, partitionsOptimized: 1 });
    expect(onlyA.snapshot.files.filter((f) => f.partitionValues.p === 'b')).toHaveLength(2);
    // Files at least minFileSize bytes are left alone.
    const tiny = await t.optimize().minFileSize(1).execute();
    expect(tiny.skipped).toBeDefined();
    const rest = await t.optimize().execute();
    // b has two files; a (one file now) and c (one file) are skipped.
    expect(rest.metrics).toMatchObject({ numFilesRemoved: 2, numFilesAdded: 1, totalConsideredFiles: 4, totalFilesSkipped: 2, partitionsOptimized: 1 });
    await expect(t.optimize().where('id > 3').execute()).rejects.toThrow(InputError);
    t.close();
  });

  it('z-order clusters rows: per-file ranges of both columns narrow, rows identical', async () => {
    const t = await freshTable();
    // Four files, each spread over the whole [0, 1000) x [0, 1000) square.
    for (let i = 0; i < 4; i++) {
      await t
        .write({ sql: `SELECT (hash(range, ${i}) % 1000)::BIGINT AS x, (hash(range, ${i + 10}) % 1000)::BIGINT AS y, md5(range::VARCHAR) AS pad FROM range(20000)` })
        .execute();
    }
    const before = await t.snapshot();
    const rowsBefore = await t.read({ columns: ['x', 'y'], orderBy: 'x, y' });
    const target = Math.floor(before.sizeInBytes / 4);
    const res = await t.optimize().zOrderBy('x', 'y').targetSize(target).execute();
    expect(res.metrics.numFilesRemoved).toBe(4);
    expect(res.metrics.numFilesAdded).toBeGreaterThanOrEqual(3);
    const after = res.snapshot.files;
    for (const c of ['x', 'y']) {
      expect(meanRange(before.files, c)).toBeGreaterThan(990);
      expect(meanRange(after, c)).toBeLessThan(0.75 * meanRange(before.files, c));
    }
    expect(await t.read({ columns: ['x', 'y'], orderBy: 'x, y' })).toEqual(rowsBefore);
    const info = commitJson(t, res.version).find((a) => a.commitInfo)!.commitInfo;
    expect(JSON.parse(info.operationParameters.zOrderBy)).toEqual(['x', 'y']);

    // sortBy: a total order, so files do not overlap on the sort column.
    const s = await t.optimize().sortBy('y').targetSize(target).execute();
    const ranges = s.snapshot.files
      .map((f) => parseStats(f.stats)!)
      .map((st) => [Number(st.minValues!.y), Number(st.maxValues!.y)])
      .sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThanOrEqual(ranges[i - 1][1]);
    await expect(t.optimize().zOrderBy('nope').execute()).rejects.toThrow(/no such column/);
    t.close();
  });

  it('keys the stats of a column-mapped table by physical names at every depth, like every other write (Spark golden copy)', async () => {
    const dir = join(fx.dir, 'column-mapping-copy');
    cpSync(resolve(process.cwd(), '../shared/conformance/golden/table-with-columnmapping-mode-name/delta'), dir, { recursive: true });
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    const before = await t.snapshot();
    expect(before.fileCount).toBe(2);
    const struct = before.schema.fields.find((f) => f.name === 'nested_struct')!;
    const physical = (f: { metadata?: Record<string, unknown> }) => String(f.metadata!['delta.columnMapping.physicalName']);
    const aa = (struct.type as { fields: { name: string; metadata?: Record<string, unknown> }[] }).fields.find((f) => f.name === 'aa')!;
    const nestedMin = (stats: string | null | undefined) => (parseStats(stats)!.minValues![physical(struct)] as Record<string, unknown> | undefined)?.[physical(aa)];
    // Spark wrote nested stats under the physical names; the compacted file keeps them so.
    const sparkMins = before.files.map((f) => String(nestedMin(f.stats))).sort();
    expect(sparkMins.every((v) => v !== 'undefined')).toBe(true);
    await t.optimize().execute();
    const after = await t.snapshot();
    expect(after.fileCount).toBe(1);
    expect(nestedMin(after.files[0].stats)).toBe(sparkMins[0]);
    t.close();
  });
});
