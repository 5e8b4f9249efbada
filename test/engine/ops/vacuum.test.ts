import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ManualClock } from '../../../src/adapters/clock.ts';
import { DeltaTable } from '../../../src/engine/table.ts';
import { MissingFileError, RetentionTooShortError } from '../../../src/engine/errors.ts';
import { deletionVectorKey } from '../../../src/engine/delta/deletion-vector.ts';
import { isVacuumable } from '../../../src/engine/ops/vacuum.ts';
import { parseInterval } from '../../../src/engine/delta/retention.ts';
import { dirOf } from '../../support/temp.ts';
import { useEngine } from '../../support/engine-fixture.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const GOLDEN_DV = resolve(process.cwd(), '../shared/conformance/golden/dv-partitioned-with-checkpoint/delta');

const fx = useEngine('lakelet-vacuum-');

let n = 0;
const freshTable = (clock: ManualClock) => DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute, clock });

/** Every file under dir (relative keys), skipping _delta_log. */
function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const key = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (key !== '_delta_log') out.push(...listFiles(dir, key));
    } else out.push(key);
  }
  return out.sort();
}

function age(dir: string, key: string, mtimeMs: number): void {
  utimesSync(join(dir, key), mtimeMs / 1000, mtimeMs / 1000);
}

describe('VACUUM', () => {
  it('refuses a retention below the table default unless forced; dry run deletes nothing and commits nothing', async () => {
    const t0 = Date.parse('2024-01-01T00:00:00Z');
    const clock = new ManualClock(t0);
    const t = await freshTable(clock);
    await t.write({ sql: 'SELECT range AS id FROM range(10)' }).execute();
    await t.write({ sql: 'SELECT range AS id FROM range(5)' }).mode('overwrite').execute();
    const dir = dirOf(t);
    for (const key of listFiles(dir)) age(dir, key, t0 - 30 * DAY);
    clock.set(t0 + 2 * HOUR);

    await expect(t.vacuum().retentionHours(1).execute()).rejects.toThrow(RetentionTooShortError);
    await expect(t.vacuum().retentionHours(1).execute()).rejects.toThrow(/--force/);

    const before = listFiles(dir);
    const dry = await t.vacuum().retentionHours(1).force().dryRun().execute();
    expect(dry.metrics.dryRun).toBe(true);
    expect(dry.metrics.numDeletedFiles).toBe(1);
    expect(dry.metrics.filesDeleted).toHaveLength(1);
    expect(dry.metrics.sizeOfDataToDelete).toBeGreaterThan(0);
    expect(listFiles(dir)).toEqual(before);
    expect((await t.history()).length).toBe(2);

    // Default retention (7 days): the overwrite removed the first file 2 hours ago; it stays.
    const keep = await t.vacuum().execute();
    expect(keep.metrics.numDeletedFiles).toBe(0);
    expect(listFiles(dir)).toEqual(before);
    expect((await t.read({ version: 0 })).length).toBe(10);

    // Forced 1 hour: deleted, and time travel to version 0 now fails naming the file.
    const forced = await t.vacuum().retentionHours(1).force().execute();
    expect(forced.metrics.filesDeleted).toEqual(dry.metrics.filesDeleted);
    expect(listFiles(dir)).toEqual(before.filter((k) => !dry.metrics.filesDeleted.includes(k)));
    await expect(t.read({ version: 0 })).rejects.toThrow(MissingFileError);
    expect((await t.read()).length).toBe(5);

    const history = await t.history();
    expect(history.slice(0, 4).map((h) => h.operation)).toEqual(['VACUUM END', 'VACUUM START', 'VACUUM END', 'VACUUM START']);
    expect(history[1].operationParameters).toMatchObject({ retentionCheckEnabled: 'false', specifiedRetentionMillis: String(HOUR), defaultRetentionMillis: String(7 * DAY) });
    expect(history[1].operationMetrics).toMatchObject({ numFilesToDelete: '1' });
    expect(history[0].operationParameters).toMatchObject({ status: 'COMPLETED' });
    expect(history[0].operationMetrics).toMatchObject({ numDeletedFiles: '1' });
    t.close();
  });

  it('keeps referenced files, tombstones within retention, young files and hidden paths; deletes the rest', async () => {
    const t0 = Date.parse('2024-03-01T00:00:00Z');
    const clock = new ManualClock(t0);
    const t = await freshTable(clock);
    await t
      .write({ sql: `SELECT range AS id, range % 2 AS p FROM range(20)` })
      .partitionBy('p')
      .properties({ 'delta.enableChangeDataFeed': 'true' })
      .execute();
    const v0 = new Set((await t.snapshot()).files.map((f) => f.path));
    // Day 0: rewrite partition p=0 (its v0 file is removed at t0, change data written).
    await t.delete('id = 0').execute();
    const removedEarly = [...v0].filter((p) => p.startsWith('p=0/'));
    const cdcEarly = listFiles(dirOf(t)).filter((k) => k.startsWith('_change_data/'));
    // Day 5: rewrite partition p=1 (its v0 file removed at t0 + 5 days).
    clock.set(t0 + 5 * DAY);
    await t.delete('id = 1').execute();
    const removedLate = [...v0].filter((p) => p.startsWith('p=1/'));
    const cdcLate = listFiles(dirOf(t)).filter((k) => k.startsWith('_change_data/') && !cdcEarly.includes(k));

    const dir = dirOf(t);
    // Orphans and things that are not the table's data.
    mkdirSync(join(dir, 'p=1'), { recursive: true });
    writeFileSync(join(dir, 'p=1/orphan-old.parquet'), 'x');
    writeFileSync(join(dir, 'p=1/orphan-young.parquet'), 'x');
    mkdirSync(join(dir, '_hidden'), { recursive: true });
    writeFileSync(join(dir, '_hidden/keep.parquet'), 'x');
    writeFileSync(join(dir, '.hidden-file'), 'x');
    writeFileSync(join(dir, '_SUCCESS'), '');
    mkdirSync(join(dir, '_q=1'), { recursive: true });
    writeFileSync(join(dir, '_q=1/old.parquet'), 'x');
    // File ages: everything old, except the young orphan and the late change data.
    for (const key of listFiles(dir)) age(dir, key, t0 - 30 * DAY);
    age(dir, 'p=1/orphan-young.parquet', t0 + 7.5 * DAY);
    for (const k of cdcLate) age(dir, k, t0 + 5 * DAY);

    clock.set(t0 + 8 * DAY); // retention boundary: t0 + 1 day
    const res = await t.vacuum().execute();
    const deleted = new Set(res.metrics.filesDeleted);
    expect(deleted).toEqual(new Set([...removedEarly, ...cdcEarly, 'p=1/orphan-old.parquet', '_q=1/old.parquet']));
    expect(res.metrics.numDeletedFiles).toBe(deleted.size);
    const left = listFiles(dir);
    for (const k of deleted) expect(left).not.toContain(k);
    for (const k of [...removedLate, ...cdcLate, 'p=1/orphan-young.parquet', '_hidden/keep.parquet', '.hidden-file', '_SUCCESS']) {
      expect(left).toContain(k);
    }
    for (const f of res.snapshot.files) expect(left).toContain(f.path);
    expect(existsSync(join(dir, '_delta_log/00000000000000000000.json'))).toBe(true);
    // Time travel within the retention still works; the change feed of the late delete too.
    expect((await t.read({ version: 1 })).length).toBe(19);
    expect((await t.changes({ fromVersion: 2, toVersion: 2 }).read()).map((r) => r.id)).toEqual(['1']);
    await expect(t.read({ version: 0 })).rejects.toThrow(MissingFileError);
    t.close();
  });

  it('honours delta.deletedFileRetentionDuration and parses Delta intervals', async () => {
    const clock = new ManualClock(Date.parse('2024-05-01T00:00:00Z'));
    const t = await freshTable(clock);
    await t.write({ sql: 'SELECT 1 AS id' }).properties({ 'delta.deletedFileRetentionDuration': 'interval 2 hours' }).execute();
    const res = await t.vacuum().retentionHours(2).dryRun().execute();
    expect(res.metrics.retentionMillis).toBe(2 * HOUR);
    await expect(t.vacuum().retentionHours(1).dryRun().execute()).rejects.toThrow(RetentionTooShortError);
    expect((await t.vacuum().dryRun().execute()).metrics.retentionMillis).toBe(2 * HOUR);
    t.close();
    expect(parseInterval('interval 7 days')).toBe(7 * DAY);
    expect(parseInterval('interval 1 week')).toBe(7 * DAY);
    expect(parseInterval('168 hours')).toBe(7 * DAY);
    expect(parseInterval('INTERVAL 1 day 12 hours')).toBe(36 * HOUR);
    expect(parseInterval('interval 1 month')).toBeUndefined();
    expect(parseInterval('interval -1 days')).toBeUndefined();
    expect(parseInterval('interval 1 day -2 hours')).toBe(22 * HOUR);
    expect(isVacuumable('_change_data/p=1/cdc-x.parquet')).toBe(true);
    expect(isVacuumable('_delta_log/00000000000000000000.json')).toBe(false);
    expect(isVacuumable('p=1/.part-0.parquet.crc')).toBe(false);
    expect(isVacuumable('_p=1/x.parquet')).toBe(true);
    expect(isVacuumable('.lakelet-staging/x/part.parquet')).toBe(false);
  });

  it('keeps deletion vector files of the current version (Spark-written DV table)', async () => {
    const dir = join(fx.dir, 'dv-copy');
    cpSync(GOLDEN_DV, dir, { recursive: true });
    const clock = new ManualClock(Date.now() + 365 * DAY);
    const t = await DeltaTable.forPath(dir, { compute: fx.compute, clock });
    const snapshot = await t.snapshot();
    const dvKeys = snapshot.files
      .filter((f) => f.deletionVector)
      .map((f) => deletionVectorKey(t.ctx.store, f.deletionVector!, { tablePath: t.uri, version: snapshot.version })!);
    expect(dvKeys.length).toBeGreaterThan(0);
    const rowsBefore = (await t.read()).length;
    const res = await t.vacuum().retentionHours(0).force().execute();
    // Superseded DV files go; the current ones stay.
    expect(res.metrics.filesDeleted.some((k) => k.startsWith('deletion_vector_'))).toBe(true);
    for (const k of dvKeys) expect(res.metrics.filesDeleted).not.toContain(k);
    for (const f of snapshot.files) expect(res.metrics.filesDeleted).not.toContain(f.path);
    const left = listFiles(dir);
    for (const k of dvKeys) expect(left).toContain(k);
    expect((await t.read()).length).toBe(rowsBefore);
    t.close();
  });
});
