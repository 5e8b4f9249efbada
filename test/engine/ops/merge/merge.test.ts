import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DeltaTable } from '../../../../src/engine/table.ts';
import type { TableHandle } from '../../../../src/engine/table-handle.ts';
import { MergeBuilder, MergeDuplicateKeyError } from '../../../../src/engine/ops/merge.ts';
import { ConstraintViolationError } from '../../../../src/engine/errors.ts';
import { useEngine } from '../../../support/engine-fixture.ts';
import { dirOf } from '../../../support/temp.ts';

const fx = useEngine();

/** Every file of a table's directory outside _delta_log, as paths relative to it. */
function filesOnDisk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((p) => !p.startsWith('_delta_log'));
}

/** Every path an add, remove or cdc action of any commit names. */
function pathsInLog(dir: string): Set<string> {
  const paths = new Set<string>();
  for (const name of readdirSync(join(dir, '_delta_log')).filter((n) => n.endsWith('.json'))) {
    for (const line of readFileSync(join(dir, '_delta_log', name), 'utf8').trim().split('\n')) {
      const action = JSON.parse(line);
      const file = action.add ?? action.remove ?? action.cdc;
      if (file) paths.add(decodeURIComponent(file.path));
    }
  }
  return paths;
}

let n = 0;
/** A target of 10 files with 100 keys each, sorted, so key ranges do not overlap. */
async function target(options: { partitioned?: boolean; properties?: Record<string, string> } = {}) {
  const t = await DeltaTable.forPath(join(fx.dir, `m${++n}`), { compute: fx.compute });
  for (let f = 0; f < 10; f++) {
    const w = t.write({ sql: `SELECT range AS id, 'v' || range AS val, range % 2 AS p, TIMESTAMP '2024-01-01' AS last_modified FROM range(${f * 100}, ${f * 100 + 100})` });
    if (f === 0 && options.partitioned) w.partitionBy('p');
    if (f === 0 && options.properties) w.properties(options.properties);
    await w.execute();
  }
  return t;
}

describe('MERGE', () => {
  it('upserts, rewriting only files that hold a matched row and pruning the rest by key stats', async () => {
    const t = await target();
    const before = new Set((await t.snapshot()).files.map((f) => f.path));
    const res = await t
      .merge({ sql: `SELECT * FROM (VALUES (150, 'updated', 1, TIMESTAMP '2024-02-01'), (5000, 'new', 0, TIMESTAMP '2024-02-01')) v(id, val, p, last_modified)` }, { on: ['id'] })
      .whenMatchedUpdateAll()
      .whenNotMatchedInsertAll()
      .execute();
    expect(res.metrics).toMatchObject({
      numSourceRows: 2,
      numTargetRowsInserted: 1,
      numTargetRowsUpdated: 1,
      numTargetRowsDeleted: 0,
      numTargetRowsCopied: 99,
      numTargetFilesRemoved: 1,
      numTargetFilesScanned: 1,
      numTargetFilesSkipped: 9,
    });
    const after = (await t.snapshot()).files.map((f) => f.path);
    expect(after.filter((p) => before.has(p))).toHaveLength(9);
    const rows = await t.read({ where: 'id IN (150, 5000, 151)', orderBy: 'id' });
    expect(rows.map((r) => [r.id, r.val])).toEqual([
      ['150', 'updated'],
      ['151', 'v151'],
      ['5000', 'new'],
    ]);
    expect((await t.read()).length).toBe(1001);
    const history = await t.history(1);
    expect(history[0].operation).toBe('MERGE');
    expect(history[0].operationMetrics.numTargetRowsUpdated).toBe('1');
    t.close();
  });

  it('an insert-only batch rewrites nothing and only adds files', async () => {
    const t = await target();
    const res = await t.merge({ sql: `SELECT range AS id, 'n' AS val, 0 AS p, TIMESTAMP '2024-03-01' AS last_modified FROM range(2000, 2100)` }, { on: ['id'] })
      .whenMatchedUpdateAll()
      .whenNotMatchedInsertAll()
      .execute();
    expect(res.metrics.numTargetFilesRemoved).toBe(0);
    expect(res.metrics.numTargetFilesScanned).toBe(0);
    expect(res.metrics.numTargetRowsInserted).toBe(100);
    t.close();
  });

  it('a merge that changes nothing writes no data file and no commit (unless a txn or domain metadata must be recorded)', async () => {
    for (const properties of [undefined, { 'delta.enableDeletionVectors': 'true' }]) {
      const t = await target({ properties });
      const before = (await t.snapshot()).version;
      const filesBefore = filesOnDisk(dirOf(t)).sort();
      const resend = `SELECT range AS id, 'v' || range AS val, range % 2 AS p, TIMESTAMP '2024-01-01' AS last_modified FROM range(100, 300)`;
      const newer = () => t.merge({ sql: resend }, { on: ['id'] }).whenMatchedUpdateAll('s.last_modified > t.last_modified').whenNotMatchedInsertAll();
      const res = await newer().execute();
      expect(res.skipped).toMatch(/nothing to commit/);
      expect(res.version).toBe(before);
      expect(res.metrics).toMatchObject({ numSourceRows: 200, numTargetRowsUpdated: 0, numTargetRowsInserted: 0, numTargetFilesAdded: 0, numTargetFilesScanned: 2 });
      expect((await t.snapshot()).version).toBe(before);
      expect(filesOnDisk(dirOf(t)).sort()).toEqual(filesBefore);
      // With a txn the merge is recorded, so a retry of the same batch is known as applied.
      const withTxn = await newer().txn('app', 1).execute();
      expect(withTxn.version).toBe(before + 1);
      // So is an application's state given with it (a sync watermark that moved on while no row changed).
      const withState = await newer().domainMetadata('app.watermark', '{"at":"2024-01-02"}').execute();
      expect(withState.skipped).toBeUndefined();
      expect(withState.version).toBe(before + 2);
      expect((await t.snapshot()).domains.get('app.watermark')?.configuration).toBe('{"at":"2024-01-02"}');
      t.close();
    }
  });

  it('refuses a target row matched by two source rows, naming the key; dedupBy keeps the latest', async () => {
    const t = await target();
    const src = { sql: `SELECT * FROM (VALUES (7, 'old', 1, TIMESTAMP '2024-02-01'), (7, 'newest', 1, TIMESTAMP '2024-03-01'), (7, 'mid', 1, TIMESTAMP '2024-02-15')) v(id, val, p, last_modified)` };
    const err = await t.merge(src, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute().catch((e) => e);
    expect(err).toBeInstanceOf(MergeDuplicateKeyError);
    expect(err.message).toContain('"id":"7"');
    expect((await t.snapshot()).version).toBe(9);
    const res = await t.merge(src, { on: ['id'] }).dedupBy('last_modified').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    expect(res.metrics.numSourceRowsDeduplicated).toBe(2);
    expect((await t.read({ where: 'id = 7' }))[0].val).toBe('newest');
    t.close();
  });

  it('dedupBy keeps one row per key as PARTITION BY groups them (NULL with NULL), ties in source order; unique keys as given', async () => {
    const src = `SELECT * FROM (VALUES (1, NULL, 'x', 1), (1, NULL, 'y', 1), (2, 2, 'p', NULL), (2, 2, 'q', 5), (3, 3, 'u', 7)) s(a, b, v, o)`;
    for (const [keep, expected] of [['last', ['y', 'q', 'u', 'seed']], ['first', ['x', 'q', 'u', 'seed']]] as const) {
      const t = await DeltaTable.forPath(join(fx.dir, `m${++n}`), { compute: fx.compute });
      await t.write({ sql: `SELECT 9 AS a, 9 AS b, 'seed' AS v, 0 AS o` }).execute();
      const res = await t.merge({ sql: src }, { on: ['a', 'b'] }).dedupBy('o', keep).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
      expect(res.metrics).toMatchObject({ numSourceRows: 5, numSourceRowsDeduplicated: 2, numTargetRowsInserted: 3 });
      expect((await t.read({ orderBy: 'a' })).map((r) => r.v)).toEqual(expected);
      // Unique keys: nothing to drop, each source row acts.
      const unique = await t.merge({ sql: `SELECT * FROM (VALUES (3, 3, 'w', 8), (4, 4, 'z', 1)) s(a, b, v, o)` }, { on: ['a', 'b'] }).dedupBy('o', keep).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
      expect(unique.metrics).toMatchObject({ numSourceRows: 2, numSourceRowsDeduplicated: 0, numTargetRowsUpdated: 1, numTargetRowsInserted: 1 });
      expect((await t.read({ where: 'a >= 3', orderBy: 'a' })).map((r) => r.v)).toEqual(['w', 'z', 'seed']);
      // A source column named rowid (here against the source order) does not decide ties: source order does.
      const shadow = await DeltaTable.forPath(join(fx.dir, `m${++n}`), { compute: fx.compute });
      await shadow.write({ sql: `SELECT 9 AS a, 9 AS b, 'seed' AS v, 0 AS o, 0 AS rowid` }).execute();
      const withRowid = `SELECT * FROM (VALUES (1, NULL, 'x', 1, 50), (1, NULL, 'y', 1, 40), (2, 2, 'p', NULL, 30), (2, 2, 'q', 5, 20), (3, 3, 'u', 7, 10)) s(a, b, v, o, rowid)`;
      await shadow.merge({ sql: withRowid }, { on: ['a', 'b'] }).dedupBy('o', keep).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
      expect((await shadow.read({ orderBy: 'a' })).map((r) => r.v)).toEqual(expected);
      shadow.close();
      // A dedup column the source lacks is named (not a DuckDB binder error), whether or not keys repeat.
      const missing = await t.merge({ sql: `SELECT 5 AS a, 5 AS b, 'm' AS v` }, { on: ['a', 'b'] }).dedupBy('o', keep).whenNotMatchedInsertAll().execute().catch((e) => e);
      expect(String(missing.message)).toContain("dedup column 'o' is not in the source");
      t.close();
    }
  });

  it('prunes exactly when file key ranges overlap: a key inside a wide file is matched, not inserted again', async () => {
    const t = await DeltaTable.forPath(join(fx.dir, `m${++n}`), { compute: fx.compute });
    // File A spans [1, 100]; file B [50, 60] lies inside it. Key 100 is only in A, yet B has the
    // greatest lower bound below 100: pruning by "the file whose range starts last" would miss A.
    await t.write({ sql: `SELECT * FROM (VALUES (1, 'a1'), (100, 'a100')) v(id, val)` }).execute();
    await t.write({ sql: `SELECT * FROM (VALUES (50, 'b50'), (60, 'b60')) v(id, val)` }).execute();
    const res = await t.merge({ sql: `SELECT * FROM (VALUES (100, 'new'), (55, 'ins')) v(id, val)` }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    expect(res.metrics).toMatchObject({ numTargetRowsUpdated: 1, numTargetRowsInserted: 1 });
    const rows = await t.read({ orderBy: 'id' });
    expect(rows.map((r) => [r.id, r.val])).toEqual([
      [1, 'a1'],
      [50, 'b50'],
      [55, 'ins'],
      [60, 'b60'],
      [100, 'new'],
    ]);
    t.close();
  });

  it('a Parquet file source with a repeated key: refused when the key matches, merged when it only inserts', async () => {
    for (const properties of [undefined, { 'delta.enableDeletionVectors': 'true' }]) {
      const t = await target({ properties });
      const file = (name: string) => join(fx.dir, `${name}-${n}.parquet`);
      // Key 150 (in the target) twice: ambiguous whatever else the batch holds.
      await fx.compute.run(
        `COPY (SELECT * FROM (VALUES (150, 'a', 1, TIMESTAMP '2024-02-01'), (151, 'b', 1, TIMESTAMP '2024-02-01'), (150, 'c', 1, TIMESTAMP '2024-02-01')) v(id, val, p, last_modified)) TO '${file('dup')}' (FORMAT parquet)`,
      );
      const err = await t.merge({ file: file('dup') }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute().catch((e) => e);
      expect(err).toBeInstanceOf(MergeDuplicateKeyError);
      expect(err.message).toContain('"id":"150"');
      // Key 5000 (not in the target) twice: Delta inserts both; 151 is updated, other rows of its file kept.
      await fx.compute.run(
        `COPY (SELECT * FROM (VALUES (5000, 'x', 0, TIMESTAMP '2024-02-01'), (151, 'u', 1, TIMESTAMP '2024-02-01'), (5000, 'y', 0, TIMESTAMP '2024-02-01')) v(id, val, p, last_modified)) TO '${file('ins')}' (FORMAT parquet)`,
      );
      const res = await t.merge({ file: file('ins') }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
      expect(res.metrics).toMatchObject({ numSourceRows: 3, numTargetRowsInserted: 2, numTargetRowsUpdated: 1 });
      const rows = await t.read({ where: 'id IN (150, 151, 5000) OR id BETWEEN 100 AND 199', orderBy: 'id, val' });
      expect(rows.length).toBe(102);
      expect(rows.filter((r) => ['150', '151', '5000'].includes(String(r.id))).map((r) => [r.id, r.val])).toEqual([
        ['150', 'v150'],
        ['151', 'u'],
        ['5000', 'x'],
        ['5000', 'y'],
      ]);
      t.close();
    }
  });

  it('deletes by a marker column and honours clause order and conditions', async () => {
    const t = await target();
    const res = await t
      .merge({ sql: `SELECT * FROM (VALUES (1, 'x', 'D'), (2, 'y', 'U'), (3000, 'z', 'U'), (3001, 'w', 'D')) v(id, val, op)` }, { on: ['id'] })
      .whenMatchedDelete(`s.op = 'D'`)
      .whenMatchedUpdate({ val: 's.val' })
      .whenNotMatchedInsert({ id: 's.id', val: 's.val', p: '9' }, `s.op <> 'D'`)
      .execute();
    expect(res.metrics).toMatchObject({ numTargetRowsDeleted: 1, numTargetRowsUpdated: 1, numTargetRowsInserted: 1 });
    const rows = await t.read({ where: 'id IN (1, 2, 3000, 3001)', orderBy: 'id' });
    expect(rows.map((r) => [r.id, r.val, r.p])).toEqual([
      ['2', 'y', '0'],
      ['3000', 'z', '9'],
    ]);
    t.close();
  });

  it('not matched by source: delete target rows the source no longer has', async () => {
    const t = await target();
    const res = await t
      .merge({ sql: `SELECT range AS id FROM range(0, 1000) WHERE range % 10 <> 0` }, { on: ['id'] })
      .whenNotMatchedBySourceDelete()
      .execute();
    expect(res.metrics.numTargetRowsNotMatchedBySourceDeleted).toBe(100);
    expect((await t.read()).length).toBe(900);
    t.close();
  });

  it('prunes by partition when the partition column is a key, and enforces constraints', async () => {
    const t = await target({ partitioned: true, properties: { 'delta.constraints.val_not_empty': "val <> ''" } });
    const res = await t
      .merge({ sql: `SELECT 3 AS id, 'u' AS val, 1 AS p, TIMESTAMP '2024-05-01' AS last_modified` }, { on: ['id', 'p'] })
      .whenMatchedUpdateAll()
      .execute();
    expect(res.metrics.numTargetRowsUpdated).toBe(1);
    expect(res.metrics.numTargetFilesScanned).toBe(1);
    const err = await t
      .merge({ sql: `SELECT 5 AS id, '' AS val, 1 AS p, TIMESTAMP '2024-05-01' AS last_modified` }, { on: ['id', 'p'] })
      .whenMatchedUpdateAll()
      .execute()
      .catch((e) => e);
    expect(err).toBeInstanceOf(ConstraintViolationError);
    t.close();
  });

  it('is idempotent with a txn and evolves the schema when asked', async () => {
    const t = await target();
    const src = { sql: `SELECT 1 AS id, 'a' AS val, 1 AS p, TIMESTAMP '2024-05-01' AS last_modified, 'new col' AS extra` };
    // Without schema evolution, UPDATE SET * ignores source columns the target lacks (as Delta does).
    await t.merge(src, { on: ['id'] }).whenMatchedUpdateAll().execute();
    expect((await t.snapshot()).schema.fields.map((f) => f.name)).not.toContain('extra');
    const wrongType = { sql: `SELECT 'one' AS id, 'a' AS val` };
    await expect(t.merge(wrongType, { on: ['id'] }).whenMatchedUpdateAll().execute()).rejects.toThrow(/column 'id' is string in the batch/);
    const first = await t.merge(src, { on: ['id'] }).mergeSchema().txn('pipe', 1).whenMatchedUpdateAll().execute();
    const again = await t.merge(src, { on: ['id'] }).mergeSchema().txn('pipe', 1).whenMatchedUpdateAll().execute();
    expect(again.skipped).toMatch(/already committed/);
    expect(again.version).toBe(first.version);
    expect((await t.read({ where: 'id = 1' }))[0].extra).toBe('new col');
    expect((await t.read({ where: 'id = 2' }))[0].extra).toBe(null);
    t.close();
  });

  it('writes the change data feed: inserts, update pre/post images and deletes', async () => {
    const t = await target({ properties: { 'delta.enableChangeDataFeed': 'true' } });
    const before = (await t.snapshot()).version;
    const res = await t
      .merge({ sql: `SELECT * FROM (VALUES (1, 'one', 'U'), (2, 'two', 'D'), (7000, 'new', 'U')) v(id, val, op)` }, { on: ['id'] })
      .whenMatchedDelete(`s.op = 'D'`)
      .whenMatchedUpdate({ val: 's.val' })
      .whenNotMatchedInsert({ id: 's.id', val: 's.val', p: '0' })
      .execute();
    const actions = (await t.history(1))[0];
    expect(actions.operation).toBe('MERGE');
    const changes = await t.changes({ fromVersion: res.version }).read();
    const seen = changes.map((r) => [r._change_type, r.id, r.val]).sort((a, b) => String(a).localeCompare(String(b)));
    expect(seen).toEqual(
      [
        ['delete', '2', 'v2'],
        ['insert', '7000', 'new'],
        ['update_postimage', '1', 'one'],
        ['update_preimage', '1', 'v1'],
      ].sort((a, b) => String(a).localeCompare(String(b))),
    );
    expect(changes.every((r) => Number(r._commit_version) === before + 1)).toBe(true);
    t.close();
  });

  it('a merge skipped at commit as an already applied txn deletes the data and change data files it wrote', async () => {
    const t = await target({ properties: { 'delta.enableChangeDataFeed': 'true' } });
    const dir = join(fx.dir, `m${n}`);
    const src = { sql: `SELECT * FROM (VALUES (1, 'one'), (7000, 'new')) v(id, val)` };
    // This writer plans against the table as it is now...
    const planned = await t.latest();
    // ...while another writer applies the same txn first (its merge writes data and change data).
    const other = await DeltaTable.forPath(dir, { compute: fx.compute });
    const applied = await other.merge(src, { on: ['id'] }).whenMatchedUpdate({ val: 's.val' }).whenNotMatchedInsert({ id: 's.id', val: 's.val', p: '0' }).txn('pipe', 1).execute();
    expect(applied.skipped).toBeUndefined();
    const stale: TableHandle = { ctx: t.ctx, uri: t.uri, snapshot: async () => planned, tryLatest: async () => planned };
    const late = await new MergeBuilder(stale, src, { on: ['id'] })
      .whenMatchedUpdate({ val: 's.val' })
      .whenNotMatchedInsert({ id: 's.id', val: 's.val', p: '0' })
      .txn('pipe', 1)
      .execute();
    expect(late.skipped).toMatch(/already committed/);
    expect(late.version).toBe(applied.version);
    // The late merge's files are never referenced: none may stay behind, under _change_data/ either.
    const referenced = pathsInLog(dir);
    expect([...referenced].some((p) => p.startsWith('_change_data/'))).toBe(true);
    expect(filesOnDisk(dir).filter((p) => !referenced.has(p))).toEqual([]);
    expect((await t.history()).filter((h) => h.operation === 'MERGE')).toHaveLength(1);
    t.close();
    other.close();
  });
});
