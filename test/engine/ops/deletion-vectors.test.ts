import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DeltaTable } from '../../../src/engine/table.ts';
import { CommitConflictError } from '../../../src/engine/errors.ts';
import { ManualClock } from '../../../src/adapters/clock.ts';
import { commit } from '../../../src/engine/delta/transaction.ts';
import { readDeletionVector } from '../../../src/engine/delta/deletion-vector.ts';
import { markRowsDeleted } from '../../../src/engine/ops/deletion-vectors.ts';
import { canonicalRows } from '../../support/golden.ts';
import { deltaRsAvailable, requirePeer, runDeltaRs } from '../../support/peers.ts';
import { dirOf } from '../../support/temp.ts';
import { useEngine } from '../../support/engine-fixture.ts';

/**
 * The write side of deletion vectors: DELETE, UPDATE and MERGE on a table with
 * delta.enableDeletionVectors=true mark rows instead of rewriting files; OPTIMIZE purges DVs above
 * a deleted share; VACUUM keeps live DV files; racing DV writers conflict instead of losing a
 * delete; every version reads the same in lakelet, in delta-rs and in a copy-on-write twin.
 */
const fx = useEngine('lakelet-dv-');
const DV = { 'delta.enableDeletionVectors': 'true' };
const DAY = 24 * 3600 * 1000;

let n = 0;
const freshTable = (options: { clock?: ManualClock } = {}) => DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute, ...options });

function commitJson(table: DeltaTable, version: number): Record<string, any>[] {
  const text = readFileSync(join(dirOf(table), '_delta_log', `${String(version).padStart(20, '0')}.json`), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l));
}
const dataFiles = (t: DeltaTable) => readdirSync(dirOf(t)).filter((f) => f.endsWith('.parquet')).sort();
const dvFiles = (t: DeltaTable) => readdirSync(dirOf(t)).filter((f) => f.startsWith('deletion_vector_')).sort();
const ids = async (t: DeltaTable, version?: number) => (await t.read({ ...(version === undefined ? {} : { version }), orderBy: 'id' })).map((r) => Number(r.id));

describe('DELETE / UPDATE / MERGE with deletion vectors', () => {
  it('DELETE marks rows in place: inline DV when tiny, a checksummed DV file when not, unioned with the file DV', async () => {
    const t = await freshTable();
    await t.write({ sql: 'SELECT range AS id, range % 10 AS g FROM range(10000)' }).properties(DV).execute();
    const p = (await t.snapshot()).protocol;
    expect(p).toMatchObject({ minReaderVersion: 3, minWriterVersion: 7 });
    expect(p.readerFeatures).toContain('deletionVectors');
    expect(p.writerFeatures).toContain('deletionVectors');
    const before = dataFiles(t);

    // One row: a tiny bitmap, stored inline in the log.
    const one = await t.delete('id = 17').execute();
    expect(one.metrics).toMatchObject({ numDeletedRows: 1, numAddedFiles: 0, numRemovedFiles: 0, numCopiedRows: 0, numDeletionVectorsAdded: 1 });
    const v1 = commitJson(t, 1);
    const add1 = v1.find((a) => a.add)!.add;
    expect(v1.find((a) => a.remove)!.remove.path).toBe(add1.path);
    expect(add1.deletionVector).toMatchObject({ storageType: 'i', cardinality: 1 });
    expect(JSON.parse(add1.stats)).toMatchObject({ numRecords: 10000, tightBounds: false });
    expect(dvFiles(t)).toEqual([]);

    // A scattered tenth of the rows: a DV file, holding the union with the inline DV.
    const many = await t.delete('g = 3').execute();
    expect(many.metrics).toMatchObject({ numDeletedRows: 1000, numAddedFiles: 0, numDeletionVectorsUpdated: 1 });
    const add2 = commitJson(t, 2).find((a) => a.add)!.add;
    const removed2 = commitJson(t, 2).find((a) => a.remove)!.remove;
    expect(removed2.deletionVector).toEqual(add1.deletionVector);
    expect(add2.deletionVector).toMatchObject({ storageType: 'u', offset: 1, cardinality: 1001 });
    const [dvFile] = dvFiles(t);
    expect(dvFile).toMatch(/^deletion_vector_[0-9a-f-]{36}\.bin$/);
    // Delta's on-disk format: version byte 1, big-endian size, payload, big-endian CRC-32 of it.
    const bytes = readFileSync(join(dirOf(t), dvFile));
    expect(bytes[0]).toBe(1);
    const size = bytes.readUInt32BE(1);
    expect(size).toBe(add2.deletionVector.sizeInBytes);
    expect(bytes.readUInt32BE(5 + size)).toBe(crc32(bytes.subarray(5, 5 + size)) >>> 0);
    const rows = await readDeletionVector(t.ctx.store, add2.deletionVector, { tablePath: t.uri, version: 2 });
    expect(rows).toHaveLength(1001);
    expect(rows).toContain(17);

    expect(dataFiles(t)).toEqual(before); // nothing rewritten
    const left = await ids(t);
    expect(left).toHaveLength(8999);
    expect(left).not.toContain(17);
    expect(left.some((id) => id % 10 === 3)).toBe(false);
    // Time travel sees each version's DV.
    expect(await ids(t, 1)).toHaveLength(9999);
    expect(await ids(t, 0)).toHaveLength(10000);
    t.close();
  });

  it('a file whose DV would cover every row is removed instead', async () => {
    const t = await freshTable();
    await t.write({ sql: 'SELECT range AS id FROM range(10)' }).properties(DV).execute();
    await t.write({ sql: 'SELECT range AS id FROM range(10, 20)' }).execute();
    await t.delete('id < 4').execute();
    const res = await t.delete('id < 10 OR id = 15').execute();
    expect(res.metrics).toMatchObject({ numDeletedRows: 7, numRemovedFiles: 1, numDeletionVectorsAdded: 1 });
    const snap = await t.snapshot();
    expect(snap.files).toHaveLength(1);
    expect(snap.files[0].deletionVector?.cardinality).toBe(1);
    expect(await ids(t)).toEqual([10, 11, 12, 13, 14, 16, 17, 18, 19]);
    t.close();
  });

  it('UPDATE writes only the updated rows; MERGE writes only updates and inserts', async () => {
    const t = await freshTable();
    await t.write({ sql: "SELECT range AS id, 'v' || range AS v FROM range(1000)" }).properties(DV).execute();
    const up = await t.update({ v: "v || '*'" }, 'id % 100 = 0').execute();
    expect(up.metrics).toMatchObject({ numUpdatedRows: 10, numCopiedRows: 0, numAddedFiles: 1, numRemovedFiles: 0, numDeletionVectorsAdded: 1 });
    const merged = await t
      .merge({ sql: "SELECT range AS id, 'm' AS v, range % 3 = 0 AS gone FROM range(990, 1010)" }, { on: ['id'] })
      .whenMatchedDelete('s.gone')
      .whenMatchedUpdate({ v: 's.v' })
      .whenNotMatchedInsert({ id: 's.id', v: 's.v' })
      .execute();
    // Matched 990..999, all in the first file (whose DV the UPDATE created): 990, 993, 996, 999
    // deleted, six updated; the first file's DV grows, nothing is copied.
    expect(merged.metrics).toMatchObject({ numTargetRowsDeleted: 4, numTargetRowsUpdated: 6, numTargetRowsInserted: 10, numTargetRowsCopied: 0, numOutputRows: 16 });
    expect(merged.metrics).toMatchObject({ numTargetDeletionVectorsAdded: 0, numTargetDeletionVectorsUpdated: 1, numTargetFilesRemoved: 0 });
    const rows = await t.read({ orderBy: 'id' });
    expect(rows).toHaveLength(1006);
    expect(rows.filter((r) => String(r.v).endsWith('*')).map((r) => Number(r.id))).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(rows.filter((r) => r.v === 'm').map((r) => Number(r.id))).toEqual([991, 992, 994, 995, 997, 998, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009]);
    t.close();
  });

  it('a MERGE whose rows fail a CHECK constraint leaves no DV file behind (it is written while the rows are)', async () => {
    const t = await freshTable();
    await t.write({ sql: 'SELECT range AS id, range AS amount FROM range(1000)' }).properties({ ...DV, 'delta.constraints.positive': 'amount >= 0' }).execute();
    // A plain upsert from a Parquet file in the table's layout: its DV file is written while the
    // file is taken in. 300 scattered rows change, too many for an inline DV.
    const source = async (sql: string) => {
      const file = join(fx.dir, `src-${++n}.parquet`);
      await fx.compute.run(`COPY (${sql}) TO '${file}' (FORMAT parquet)`);
      return { file };
    };
    const upsert = (src: { file: string }) => t.merge(src, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll();
    const bad = upsert(await source('SELECT range * 3 AS id, CASE WHEN range = 299 THEN -1 ELSE range END AS amount FROM range(300)'));
    await expect(bad.execute()).rejects.toThrow(/CHECK constraint/);
    expect(dvFiles(t)).toEqual([]);
    expect(dataFiles(t)).toHaveLength(1);
    // The same merge without the bad row writes its DV file.
    await upsert(await source('SELECT range * 3 AS id, range AS amount FROM range(299)')).execute();
    expect(dvFiles(t)).toHaveLength(1);
    t.close();
  });

  it('is switched on for an existing table by setProperties, which raises the protocol', async () => {
    const t = await freshTable();
    await t.write({ sql: 'SELECT range AS id FROM range(100)' }).execute();
    expect((await t.snapshot()).protocol.minReaderVersion).toBe(1);
    await t.setProperties(DV).execute();
    expect((await t.snapshot()).protocol.readerFeatures).toContain('deletionVectors');
    const res = await t.delete('id = 5').execute();
    expect(res.metrics.numDeletionVectorsAdded).toBe(1);
    expect(await ids(t)).toHaveLength(99);
    t.close();
  });
});

describe('OPTIMIZE and VACUUM with deletion vectors', () => {
  it('OPTIMIZE rewrites only files whose DV deletes more than maxDeletedRowsRatio; VACUUM keeps live DV files and removes dead ones', async () => {
    const clock = new ManualClock(Date.now());
    const t = await freshTable({ clock });
    // Two big files (minFileSize below keeps them out of compaction) of 1000 rows each.
    await t.write({ sql: 'SELECT range AS id FROM range(1000)' }).properties(DV).execute();
    await t.write({ sql: 'SELECT range AS id FROM range(1000, 2000)' }).execute();
    await t.delete('id % 10 = 0 AND id < 1000').execute(); // 10% of file A: a DV file
    await t.delete('id IN (1001, 1503)').execute(); // 0.2% of file B: inline
    const [dvA] = dvFiles(t);
    const idsBefore = await ids(t);

    const opt = await t.optimize().minFileSize(1).execute();
    expect(opt.metrics).toMatchObject({ numFilesRemoved: 1, numFilesAdded: 1, numDeletionVectorsRemoved: 1 });
    let snap = await t.snapshot();
    expect(snap.files.filter((f) => f.deletionVector).map((f) => f.deletionVector!.cardinality)).toEqual([2]);
    expect(await ids(t)).toEqual(idsBefore);
    // Ratio 0: any DV is purged.
    await t.delete('id % 10 = 5 AND id < 1000').execute(); // a DV file on the rewritten file
    const live = dvFiles(t).filter((f) => f !== dvA);
    expect(live).toHaveLength(1);
    clock.advance(8 * DAY);
    const vac = await t.vacuum().execute();
    // The purged DV file is unreferenced: gone. The live one stays.
    expect(vac.metrics.filesDeleted).toContain(dvA);
    expect(dvFiles(t)).toEqual(live);
    expect(await ids(t)).toHaveLength(idsBefore.length - 100);
    await t.optimize().minFileSize(1).maxDeletedRowsRatio(0).execute();
    snap = await t.snapshot();
    expect(snap.files.some((f) => f.deletionVector)).toBe(false);
    expect(await ids(t)).toHaveLength(idsBefore.length - 100);
    t.close();
  });
});

describe('concurrent writers of deletion vectors', () => {
  it('two DVs for the same file from the same read version: the second conflicts instead of dropping the first delete', async () => {
    const t = await freshTable();
    await t.write({ sql: 'SELECT range AS id FROM range(100)' }).properties(DV).execute();
    const read = await t.snapshot();
    const file = read.files[0];
    const now = Date.now();
    const a = await markRowsDeleted(t.ctx, read, [file], new Map([[file.path, [1, 2]]]), now);
    const b = await markRowsDeleted(t.ctx, read, [file], new Map([[file.path, [50]]]), now);
    await commit(t.ctx, { read, actions: a.actions, operation: 'DELETE', readSet: { files: [file], scope: 'all' } });
    const err = await commit(t.ctx, { read, actions: b.actions, operation: 'DELETE', readSet: { files: [file], scope: 'all' } }).catch((e) => e);
    expect(err).toBeInstanceOf(CommitConflictError);
    expect(err.kind).toBe('concurrent-delete-delete');
    // The builders re-read the latest snapshot, so a retried DELETE unions with the winner's DV.
    await t.delete('id = 50').execute();
    expect(await ids(t)).toHaveLength(97);
    t.close();
  });
});

/** One history of operations, applied to a DV table, its copy-on-write twin and a DuckDB table. */
const HISTORY: { lakelet: (t: DeltaTable) => Promise<unknown>; duckdb: string }[] = [
  { lakelet: (t) => t.delete('id % 7 = 0').execute(), duckdb: 'DELETE FROM mirror WHERE id % 7 = 0' },
  { lakelet: (t) => t.update({ n: 'n + 1000' }, 'id % 5 = 1').execute(), duckdb: 'UPDATE mirror SET n = n + 1000 WHERE id % 5 = 1' },
  {
    lakelet: (t) => t.merge({ sql: 'SELECT range AS id, -1 AS n FROM range(150, 260, 3)' }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(),
    duckdb: 'MERGE INTO mirror t USING (SELECT range AS id, -1 AS n FROM range(150, 260, 3)) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET n = s.n WHEN NOT MATCHED THEN INSERT (id, n) VALUES (s.id, s.n)',
  },
  { lakelet: (t) => t.delete('n < 0 AND id % 2 = 0').execute(), duckdb: 'DELETE FROM mirror WHERE n < 0 AND id % 2 = 0' },
  {
    lakelet: (t) => t.merge({ sql: 'SELECT range AS id FROM range(0, 300, 11)' }, { on: ['id'] }).whenMatchedDelete().execute(),
    duckdb: 'DELETE FROM mirror WHERE id IN (SELECT range FROM range(0, 300, 11))',
  },
];

describe.each([
  { mode: 'copy-on-write', props: {} as Record<string, string>, partitionBy: [] as string[] },
  { mode: 'deletion vectors', props: DV, partitionBy: [] as string[] },
  // UPDATE moves rows to other partitions (n + 1000), MERGE into a new one (n = -1): DV positions
  // are per file of a partitioned scan.
  { mode: 'deletion vectors, partitioned by n', props: DV, partitionBy: ['n'] },
])('time travel over DELETE/UPDATE/MERGE ($mode)', ({ props, partitionBy }) => {
  it('every version reads as DuckDB computed it, in lakelet and in delta-rs, across checkpoints', async () => {
    const peer = requirePeer('delta-rs', deltaRsAvailable) === 'run';
    const t = await freshTable();
    await t
      .write({ sql: 'SELECT range AS id, range % 13 AS n FROM range(200)' })
      .partitionBy(...partitionBy)
      .properties({ ...props, 'delta.checkpointInterval': '2' })
      .execute();
    await t.write({ sql: 'SELECT range AS id, range % 13 AS n FROM range(200, 240)' }).execute();
    await fx.compute.run('CREATE OR REPLACE TEMP TABLE mirror AS SELECT range AS id, range % 13 AS n FROM range(240)');
    const expected: string[][] = [];
    expected[1] = canonicalRows(await fx.compute.query('SELECT * FROM mirror'));
    for (const [i, step] of HISTORY.entries()) {
      await step.lakelet(t);
      await fx.compute.run(step.duckdb);
      expected[i + 2] = canonicalRows(await fx.compute.query('SELECT * FROM mirror'));
    }
    const latest = (await t.snapshot()).version;
    expect(latest).toBe(HISTORY.length + 1);
    const withDv = (await t.snapshot()).files.filter((f) => f.deletionVector).length;
    if (props === DV) expect(withDv).toBeGreaterThan(0);
    else expect(withDv).toBe(0);
    // A fresh handle replays from the checkpoints.
    const reopened = await DeltaTable.forPath(dirOf(t), { compute: fx.compute });
    const versions = Array.from({ length: latest }, (_, i) => i + 1);
    // Every version in one peer process (its start-up is most of a read).
    const peerReads = peer ? await runDeltaRs(['read', dirOf(t), '--versions', versions.join(',')]) : [];
    for (const v of versions) {
      expect(canonicalRows(await reopened.read({ version: v })), `lakelet v${v}`).toEqual(expected[v]);
      if (peer) {
        const theirs = peerReads[v - 1];
        expect(theirs.version, `delta-rs v${v}`).toBe(v);
        expect(canonicalRows(theirs.rows), `delta-rs v${v}`).toEqual(expected[v]);
      }
    }
    reopened.close();
    t.close();
  });
});
