import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeltaTable } from '../../../src/engine/table.ts';
import { commit } from '../../../src/engine/delta/transaction.ts';
import { CommitConflictError } from '../../../src/engine/errors.ts';
import { writeDataFiles } from '../../../src/engine/delta/data-writer.ts';
import { compilePredicate } from '../../../src/engine/delta/skipping.ts';
import { dirOf } from '../../support/temp.ts';
import { useEngine } from '../../support/engine-fixture.ts';
import { runTsxOk } from '../../support/process.ts';

const fx = useEngine();

let n = 0;
async function tableWithRows(partitioned = false) {
  const t = await DeltaTable.forPath(join(fx.dir, `c${++n}`), { compute: fx.compute });
  const w = t.write({ sql: `SELECT range AS id, range % 2 AS p FROM range(10)` });
  await (partitioned ? w.partitionBy('p') : w).execute();
  return t;
}

async function addsFor(t: DeltaTable, sql: string) {
  const snap = await t.snapshot();
  return (
    await writeDataFiles(t.ctx, sql, { schema: snap.schema, partitionColumns: snap.partitionColumns, mappingMode: 'none' })
  ).adds.map((add) => ({ add }));
}

describe('optimistic concurrency', () => {
  it('two blind appends from the same read version both commit (the loser retries at the next version)', async () => {
    const t = await tableWithRows();
    const read = await t.snapshot();
    const a = await commit(t.ctx, { read, actions: await addsFor(t, 'SELECT 100 AS id, 0 AS p'), operation: 'WRITE' });
    const b = await commit(t.ctx, { read, actions: await addsFor(t, 'SELECT 101 AS id, 1 AS p'), operation: 'WRITE' });
    expect([a.version, b.version]).toEqual([1, 2]);
    expect(b.attempts).toBe(2);
    expect((await t.read()).length).toBe(12);
    t.close();
  });

  it('concurrent removal of a file we also remove fails with concurrent-delete-delete', async () => {
    const t = await tableWithRows();
    const read = await t.snapshot();
    const f = read.files[0];
    const remove = { remove: { path: f.path, deletionTimestamp: Date.now(), dataChange: true } };
    await commit(t.ctx, { read, actions: [remove], operation: 'DELETE', readSet: { files: [f], scope: 'all' } });
    const err = await commit(t.ctx, { read, actions: [remove], operation: 'DELETE', readSet: { files: [f], scope: 'all' } }).catch((e) => e);
    expect(err).toBeInstanceOf(CommitConflictError);
    expect(err.kind).toBe('concurrent-delete-delete');
    expect(err.message).toMatch(/version 1/);
    t.close();
  });

  it('a non-blind commit that adds rows we read fails with concurrent-append; disjoint partitions commit', async () => {
    const t = await tableWithRows(true);
    const read = await t.snapshot();
    const p0 = await compilePredicate(fx.compute, 'p = 0');
    // The winner rewrote partition 1 (a non-blind commit).
    const f1 = read.files.find((f) => f.partitionValues.p === '1')!;
    await commit(t.ctx, {
      read,
      actions: [{ remove: { path: f1.path, deletionTimestamp: Date.now(), dataChange: true } }, ...(await addsFor(t, 'SELECT 1 AS id, 1 AS p'))],
      operation: 'UPDATE',
      readSet: { files: [f1], scope: await compilePredicate(fx.compute, 'p = 1') },
    });
    // We read partition 0 only: no conflict.
    const f0 = read.files.find((f) => f.partitionValues.p === '0')!;
    const ok = await commit(t.ctx, {
      read,
      actions: [{ remove: { path: f0.path, deletionTimestamp: Date.now(), dataChange: true } }, ...(await addsFor(t, 'SELECT 0 AS id, 0 AS p'))],
      operation: 'UPDATE',
      readSet: { files: [f0], scope: p0 },
    });
    expect(ok.version).toBe(2);
    // A reader of the whole table planned at the old version conflicts.
    const err = await commit(t.ctx, { read, actions: await addsFor(t, 'SELECT 5 AS id, 1 AS p'), operation: 'MERGE', readSet: { files: [], scope: 'all' } }).catch((e) => e);
    expect(err).toBeInstanceOf(CommitConflictError);
    expect(['concurrent-append', 'concurrent-delete-read']).toContain(err.kind);
    t.close();
  });

  it('a concurrent metadata change is a conflict', async () => {
    const t = await tableWithRows();
    const read = await t.snapshot();
    await t.write({ sql: 'SELECT 1 AS id, 1 AS p, 2 AS extra' }).mergeSchema().execute();
    const err = await commit(t.ctx, { read, actions: await addsFor(t, 'SELECT 7 AS id, 0 AS p'), operation: 'WRITE' }).catch((e) => e);
    expect(err).toBeInstanceOf(CommitConflictError);
    expect(err.kind).toBe('metadata-changed');
    t.close();
  });

  it('several OS processes appending at once: no version lost or doubled, every row exactly once', async () => {
    const t = await DeltaTable.forPath(join(fx.dir, `mp${++n}`), { compute: fx.compute });
    await t.write({ sql: 'SELECT NULL::INTEGER AS writer, NULL::INTEGER AS seq, 0::BIGINT AS n' }).execute();
    const dir = dirOf(t);
    const writers = 4;
    const commits = 6;
    const rows = 50;
    const script = fileURLToPath(new URL('fixtures/concurrent-appender.ts', import.meta.url));
    const runs = Array.from({ length: writers }, (_, w) => runTsxOk(script, [dir, String(w), String(commits), String(rows)]));
    await Promise.all(runs);
    const versions = readdirSync(join(dir, '_delta_log'))
      .filter((f) => /^\d{20}\.json$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 1 + writers * commits }, (_, i) => i));
    const counts = await fx.compute.query<{ writer: number; seq: number; c: string }>(
      `SELECT writer, seq, count(*) AS c FROM (${(await t.scan()).sql}) WHERE writer IS NOT NULL GROUP BY ALL ORDER BY ALL`,
    );
    expect(counts).toHaveLength(writers * commits);
    expect(counts.every((c) => Number(c.c) === rows)).toBe(true);
    const snap = await t.snapshot();
    for (let w = 0; w < writers; w++) expect(snap.txnVersion(`writer-${w}`)).toBe(commits - 1);
    t.close();
  });
});
