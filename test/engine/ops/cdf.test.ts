import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { sqlString } from '../../../src/adapters/compute/sql.ts';
import { DeltaTable } from '../../../src/engine/table.ts';
import { ChangeDataFeedError, MissingFileError, VersionNotFoundError } from '../../../src/engine/errors.ts';
import { writeChangeDataFiles } from '../../../src/engine/ops/cdf.ts';
import { dirOf } from '../../support/temp.ts';
import { useEngine } from '../../support/engine-fixture.ts';

const fx = useEngine('lakelet-cdf-');

let n = 0;
const freshTable = () => DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });
const CDF_ONLY = { 'delta.enableChangeDataFeed': 'true' };
const WITH_DV = { ...CDF_ONLY, 'delta.enableDeletionVectors': 'true' };
// Set per run of the suite: the feed alone (copy-on-write), or with deletion vectors.
let CDF: Record<string, string> = CDF_ONLY;

function commitJson(table: DeltaTable, version: number): Record<string, any>[] {
  const text = readFileSync(join(dirOf(table), '_delta_log', `${String(version).padStart(20, '0')}.json`), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l));
}

type Row = Record<string, unknown>;
const brief = (rows: Row[]) => rows.map((r) => `${r._commit_version}:${r._change_type}:${r.id}:${r.v}`).sort();

async function seed(t: DeltaTable) {
  await t
    .write({ sql: `SELECT range::BIGINT AS id, 'k' || (range % 2) AS k, 'v' || range AS v FROM range(6)` })
    .partitionBy('k')
    .properties(CDF)
    .execute();
}

describe.each([
  { mode: 'copy-on-write', props: CDF_ONLY },
  { mode: 'deletion vectors', props: WITH_DV },
])('change data feed ($mode)', ({ props }) => {
  beforeAll(() => {
    CDF = props;
  });
  it('DELETE writes delete change data under _change_data/<partition>/ as cdc actions', async () => {
    const t = await freshTable();
    await seed(t);
    const res = await t.delete('id IN (0, 3)').execute();
    expect(res.metrics.numAddedChangeFiles).toBe(2);
    // Both partitions' files lose one row: rewritten, or marked in a deletion vector each.
    expect([res.metrics.numAddedFiles, res.metrics.numDeletionVectorsAdded]).toEqual(CDF === WITH_DV ? [0, 2] : [2, 0]);
    const cdc = commitJson(t, 1).filter((a) => a.cdc).map((a) => a.cdc);
    expect(cdc).toHaveLength(2);
    for (const c of cdc) {
      expect(c.path).toMatch(/^_change_data\/k=k[01]\/cdc-[0-9a-f-]+\.zstd\.parquet$/);
      expect(c.dataChange).toBe(false);
      expect(c.partitionValues.k).toMatch(/^k[01]$/);
      expect(c.size).toBeGreaterThan(0);
    }
    // The files hold the data columns and _change_type; the partition column is in the path.
    const local = cdc.map((c) => sqlString(join(dirOf(t), c.path)));
    const rows = await fx.compute.query<Row>(`SELECT * FROM read_parquet([${local.join(', ')}], hive_partitioning = false) ORDER BY id`);
    expect(rows).toEqual([
      { id: '0', v: 'v0', _change_type: 'delete' },
      { id: '3', v: 'v3', _change_type: 'delete' },
    ]);
    // A whole-partition delete also records its rows (readers use only cdc once a version has any).
    await t.delete("k = 'k1'").execute();
    expect(brief(await t.changes({ fromVersion: 2 }).read())).toEqual(['2:delete:1:v1', '2:delete:5:v5']);
    t.close();
  });

  it('UPDATE writes update_preimage and update_postimage rows', async () => {
    const t = await freshTable();
    await seed(t);
    const res = await t.update({ v: "v || '*'" }, 'id >= 4').execute();
    // With DVs only the two updated rows are written; the files keep the others.
    expect(res.metrics.numCopiedRows).toBe(CDF === WITH_DV ? 0 : 4);
    expect(res.metrics.numDeletionVectorsAdded).toBe(CDF === WITH_DV ? 2 : 0);
    const changes = await t.changes({ fromVersion: 1, toVersion: 1 }).read();
    expect(brief(changes)).toEqual(['1:update_postimage:4:v4*', '1:update_postimage:5:v5*', '1:update_preimage:4:v4', '1:update_preimage:5:v5']);
    expect(changes.every((r) => r.k === (Number(r.id) % 2 === 0 ? 'k0' : 'k1'))).toBe(true);
    t.close();
  });

  it('changes() spans versions: inserts, cdc files, overwrites as deletes+inserts, nothing for OPTIMIZE', async () => {
    const t = await freshTable();
    await seed(t); // v0: inserts
    await t.delete('id = 2').execute(); // v1: cdc delete
    await t.write({ sql: `SELECT 10::BIGINT AS id, 'k0' AS k, 'v10' AS v` }).execute(); // v2: insert
    await t.update({ v: "'new'" }, 'id = 10').execute(); // v3: cdc pre/post
    await t.optimize().execute(); // v4: dataChange=false
    await t.write({ sql: `SELECT 20::BIGINT AS id, 'k1' AS k, 'v20' AS v` }).mode('overwrite').execute(); // v5
    const all = await t.changes({ fromVersion: 0 }).read();
    expect(brief(all)).toEqual(
      [
        ...['0:insert:0:v0', '0:insert:1:v1', '0:insert:2:v2', '0:insert:3:v3', '0:insert:4:v4', '0:insert:5:v5'],
        '1:delete:2:v2',
        '2:insert:10:v10',
        '3:update_preimage:10:v10',
        '3:update_postimage:10:new',
        ...['5:delete:0:v0', '5:delete:1:v1', '5:delete:3:v3', '5:delete:4:v4', '5:delete:5:v5', '5:delete:10:new'],
        '5:insert:20:v20',
      ].sort(),
    );
    // Commit order, then change type.
    expect(all.map((r) => Number(r._commit_version))).toEqual([...all.map((r) => Number(r._commit_version))].sort((a, b) => a - b));
    expect(Object.keys(all[0])).toEqual(['id', 'k', 'v', '_change_type', '_commit_version', '_commit_timestamp']);
    const history = await t.history();
    const v3 = history.find((h) => h.version === 3)!;
    const v3Row = all.find((r) => r._commit_version === '3')!;
    expect(Date.parse(String(v3Row._commit_timestamp).replace(' ', 'T').replace(/\+00$/, 'Z'))).toBe(v3.timestamp);

    const scan = await t.changes({ fromVersion: 1, toVersion: 4 }).scan();
    expect(scan.metrics).toMatchObject({ fromVersion: 1, toVersion: 4, numCommits: 3, numChangeFiles: 2, numAddFiles: 1, numRemoveFiles: 0 });
    await scan.release();
    const deletes = await t.changes({ fromVersion: 0 }).where("_change_type = 'delete' AND id < 3").read();
    expect(brief(deletes)).toEqual(['1:delete:2:v2', '5:delete:0:v0', '5:delete:1:v1']);
    expect(await t.changes({ fromVersion: 4, toVersion: 4 }).read()).toEqual([]);
    await expect(t.changes({ fromVersion: 3, toVersion: 9 }).read()).rejects.toThrow(VersionNotFoundError);
    // A start past the latest version, no end given: named as that (not as an end below the start).
    const past = await t.changes({ fromVersion: 9 }).read().catch((e) => e);
    expect(past).toBeInstanceOf(VersionNotFoundError);
    expect(past.message).toMatch(/the latest version is \d+; changes from version 9 were asked for \(no commit has it yet\)/);
    t.close();
  });

  it('fails with a typed error where the feed was not enabled, and names vacuumed change files', async () => {
    const t = await freshTable();
    await t.write({ sql: `SELECT 1::BIGINT AS id, 'a' AS v` }).execute(); // v0: no CDF
    await expect(t.changes({ fromVersion: 0 }).read()).rejects.toThrow(ChangeDataFeedError);
    await t.write({ sql: `SELECT 2::BIGINT AS id, 'b' AS v` }).properties(CDF).execute(); // v1: enables CDF
    const err = await t.changes({ fromVersion: 0 }).read().catch((e) => e);
    expect(err).toBeInstanceOf(ChangeDataFeedError);
    expect(err.message).toMatch(/version 0/);
    expect(brief(await t.changes({ fromVersion: 1 }).read())).toEqual(['1:insert:2:b']);
    await t.delete('id = 1').execute(); // v2
    const [cdc] = commitJson(t, 2).filter((a) => a.cdc).map((a) => a.cdc);
    unlinkSync(join(dirOf(t), cdc.path));
    await expect(t.changes({ fromVersion: 2 }).read()).rejects.toThrow(MissingFileError);
    t.close();
  });

  it('writeChangeDataFiles (shared with MERGE): missing columns are NULL, no rows no files', async () => {
    const t = await freshTable();
    await seed(t);
    const snapshot = await t.snapshot();
    const files = await writeChangeDataFiles(t.ctx, snapshot, `SELECT 7::BIGINT AS id, 'k1' AS k, 'insert' AS _change_type`);
    expect(files).toHaveLength(1);
    expect(files[0].partitionValues).toEqual({ k: 'k1' });
    const rows = await fx.compute.query<Row>(`SELECT * FROM read_parquet(${sqlString(join(dirOf(t), files[0].path))}, hive_partitioning = false)`);
    expect(rows).toEqual([{ id: '7', v: null, _change_type: 'insert' }]);
    expect(await writeChangeDataFiles(t.ctx, snapshot, `SELECT 7 AS id, 'k1' AS k, 'insert' AS _change_type WHERE false`)).toEqual([]);
    await expect(writeChangeDataFiles(t.ctx, snapshot, `SELECT 7 AS id`)).rejects.toThrow(/_change_type/);
    t.close();
  });
});
