import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../../src/adapters/clock.ts';
import type { RemoveFile } from '../../../src/engine/delta/actions.ts';
import { checkpointTombstones } from '../../../src/engine/delta/checkpoint-tombstones.ts';
import { fileKey } from '../../../src/engine/delta/file-key.ts';
import { Snapshot } from '../../../src/engine/delta/snapshot.ts';
import { DeltaTable } from '../../../src/engine/table.ts';
import { useEngine } from '../../support/engine-fixture.ts';
import { RecordingStore } from '../../support/recording-store.ts';

/**
 * A checkpoint's tombstones come from the removes the snapshot replayed after its own checkpoint
 * (and those of the checkpoint it wrote last), not from listing and reading the log again; they
 * are the same tombstones the log gives.
 */
const fx = useEngine('lakelet-ckpt-removes-');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const commitReads = (store: RecordingStore) => store.reads.filter((k) => /_delta_log\/\d{20}\.json$/.test(k));
const checkpointReads = (store: RecordingStore) => store.reads.filter((k) => k.includes('.checkpoint.'));
const clear = (store: RecordingStore) => {
  store.gets = [];
  store.ranges = [];
  store.lists = [];
};

async function tombstonePaths(dir: string, version: number): Promise<string[]> {
  const file = join(dir, '_delta_log', `${String(version).padStart(20, '0')}.checkpoint.parquet`);
  const rows = await fx.compute.query<{ path: string }>(`SELECT remove.path AS path FROM read_parquet('${file}') WHERE remove IS NOT NULL ORDER BY 1`);
  return rows.map((r) => r.path);
}

/** The same snapshot without the removes its replay kept: its checkpoint tombstones come from the log. */
function withoutRemoves(s: Snapshot): Snapshot {
  const files = new Map(s.files.map((f) => [fileKey(f.path, f.deletionVector), f]));
  return new Snapshot(s.table, s.version, s.protocol, s.metadata, files, s.txns, s.domains, s.timestamp);
}

/** Tombstones in a comparable form: sorted, with absent and null fields alike. */
function canonical(removes: RemoveFile[]): string[] {
  return removes.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null && v !== undefined).sort()))).sort();
}

describe('checkpoint tombstones from the replayed removes', () => {
  it('a checkpoint reads no commit again and lists no log for its tombstones, after a fresh open and after its own checkpoint', async () => {
    const dir = join(fx.dir, 'no-reread');
    const store = new RecordingStore(dir);
    const t = await DeltaTable.forPath(dir, { compute: fx.compute, store });
    for (let v = 0; v <= 10; v++) await t.write({ sql: `SELECT ${v} AS id` }).execute(); // checkpoint 10: no remove
    await t.delete('id = 3').execute(); // v11
    for (let v = 12; v <= 19; v++) await t.write({ sql: `SELECT ${v} AS id` }).execute();
    const before = new Set((await t.snapshot({ version: 10 })).files.map((f) => f.path));
    const after = new Set((await t.snapshot({ version: 11 })).files.map((f) => f.path));
    const removed = [...before].filter((p) => !after.has(p));
    expect(removed).toHaveLength(1);
    t.close();

    // A new handle, as a new process opens the table: it replays commits 11..19 once, when opening.
    const opened = await DeltaTable.forPath(dir, { compute: fx.compute, store });
    await opened.snapshot();
    clear(store);
    await opened.write({ sql: 'SELECT 20 AS id' }).execute(); // v20: a checkpoint
    expect(commitReads(store)).toEqual([]);
    expect(checkpointReads(store)).toEqual([]);
    // The only listing is the handle's own look for newer commits (from the version it holds).
    expect(store.lists.map((l) => l.startAt)).toEqual([`_delta_log/${String(19).padStart(20, '0')}`]);
    expect(await tombstonePaths(dir, 20)).toEqual(removed);

    // The next checkpoint of this handle knows the tombstones it wrote at 20: it reads neither them nor the log.
    for (let v = 21; v <= 29; v++) await opened.write({ sql: `SELECT ${v} AS id` }).execute();
    clear(store);
    await opened.write({ sql: 'SELECT 30 AS id' }).execute();
    expect(commitReads(store)).toEqual([]);
    expect(checkpointReads(store)).toEqual([]);
    expect(await tombstonePaths(dir, 30)).toEqual(removed);
    expect((await opened.read({})).length).toBe(11 - 1 + 8 + 1 + 10);
    opened.close();
  });

  it("a handle following another writer's commits counts removes from that writer's checkpoint on, and its own checkpoint still carries them all", async () => {
    const dir = join(fx.dir, 'follow');
    const store = new RecordingStore(dir);
    const writer = await DeltaTable.forPath(dir, { compute: fx.compute, store });
    await writer.write({ sql: 'SELECT 0 AS id' }).execute(); // v0
    const follower = await DeltaTable.forPath(dir, { compute: fx.compute, store });
    await follower.snapshot(); // holds v0
    for (let v = 1; v <= 2; v++) await writer.write({ sql: `SELECT ${v} AS id` }).execute();
    await writer.delete('id = 1').execute(); // v3: a tombstone for checkpoint 10
    for (let v = 4; v <= 10; v++) await writer.write({ sql: `SELECT ${v} AS id` }).execute(); // checkpoint 10 (the writer's)
    await writer.delete('id = 2').execute(); // v11
    await writer.write({ sql: 'SELECT 12 AS id' }).execute(); // v12
    writer.close();

    // Brought up to date commit by commit, past the writer's checkpoint: only v11's remove is held.
    const followed = await follower.snapshot();
    expect(followed.version).toBe(12);
    expect(followed.removes?.base?.version).toBe(10);
    const held = followed.removes!.commitRemoves();
    expect(held).toHaveLength(1);
    expect(canonical(await checkpointTombstones(follower.ctx, followed, Date.now()))).toEqual(
      canonical(await checkpointTombstones(follower.ctx, withoutRemoves(followed), Date.now())),
    );

    for (let v = 13; v <= 20; v++) await follower.write({ sql: `SELECT ${v} AS id` }).execute(); // checkpoint 20
    const at10 = await tombstonePaths(dir, 10);
    expect(at10).toHaveLength(1);
    expect(await tombstonePaths(dir, 20)).toEqual([...at10, held[0].path].sort());
    follower.close();
  });

  it('a checkpoint damaged since the snapshot was replayed from it: the tombstones come from the commits instead', async () => {
    const dir = join(fx.dir, 'damaged');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    for (let v = 0; v <= 2; v++) await t.write({ sql: `SELECT ${v} AS id` }).execute();
    await t.delete('id = 1').execute(); // v3: a tombstone checkpoint 10 holds
    for (let v = 4; v <= 10; v++) await t.write({ sql: `SELECT ${v} AS id` }).execute();
    const at10 = await tombstonePaths(dir, 10);
    expect(at10).toHaveLength(1);
    t.close();

    const opened = await DeltaTable.forPath(dir, { compute: fx.compute });
    expect((await opened.snapshot()).removes?.base?.version).toBe(10);
    // Checkpoint 10 torn after the open: its removes no longer read.
    const file = join(dir, '_delta_log', `${String(10).padStart(20, '0')}.checkpoint.parquet`);
    writeFileSync(file, readFileSync(file).subarray(0, 100));
    await opened.delete('id = 2').execute(); // v11
    const live11 = new Set((await opened.snapshot()).files.map((f) => f.path));
    const removed11 = (await opened.snapshot({ version: 10 })).files.map((f) => f.path).filter((p) => !live11.has(p));
    expect(removed11).toHaveLength(1);
    for (let v = 12; v <= 20; v++) await opened.write({ sql: `SELECT ${v} AS id` }).execute();
    expect(await tombstonePaths(dir, 20)).toEqual([...at10, ...removed11].sort());
    opened.close();
  });

  it('a healthy checkpoint whose commits were cleaned up: the next checkpoint is written, with the tombstone it carries', async () => {
    const dir = join(fx.dir, 'healthy-cleaned');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    for (let v = 0; v <= 2; v++) await t.write({ sql: `SELECT ${v} AS id` }).execute();
    await t.delete('id = 1').execute();
    for (let v = 4; v <= 10; v++) await t.write({ sql: `SELECT ${v} AS id` }).execute();
    t.close();
    // Commits 0-9 expired by log cleanup, as Delta's log retention does once a checkpoint covers them.
    const log = join(dir, '_delta_log');
    for (let v = 0; v < 10; v++) rmSync(join(log, `${String(v).padStart(20, '0')}.json`));
    const warnings: string[] = [];
    const opened = await DeltaTable.forPath(dir, { compute: fx.compute, onWarning: (m) => warnings.push(m) });
    for (let v = 11; v <= 20; v++) await opened.write({ sql: `SELECT ${v} AS id` }).execute();
    expect(warnings).toEqual([]);
    expect(existsSync(join(log, `${String(20).padStart(20, '0')}.checkpoint.parquet`))).toBe(true);
    expect(await tombstonePaths(dir, 20)).toEqual(await tombstonePaths(dir, 10));
    opened.close();
  });

  it('a damaged checkpoint whose commits were cleaned up: the tombstones cannot be known, so the next checkpoint is skipped with a warning, not written without them', async () => {
    const dir = join(fx.dir, 'damaged-cleaned');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    for (let v = 0; v <= 2; v++) await t.write({ sql: `SELECT ${v} AS id` }).execute();
    await t.delete('id = 1').execute(); // v3: a tombstone only checkpoint 10 holds once the commits are gone
    for (let v = 4; v <= 10; v++) await t.write({ sql: `SELECT ${v} AS id` }).execute();
    expect(await tombstonePaths(dir, 10)).toHaveLength(1);
    t.close();

    const warnings: string[] = [];
    const opened = await DeltaTable.forPath(dir, { compute: fx.compute, onWarning: (m) => warnings.push(m) });
    expect((await opened.snapshot()).removes?.base?.version).toBe(10);
    // Commits 0-9 expired by log cleanup (another engine's), and checkpoint 10 torn after the open.
    const log = join(dir, '_delta_log');
    for (let v = 0; v < 10; v++) rmSync(join(log, `${String(v).padStart(20, '0')}.json`));
    const file = join(log, `${String(10).padStart(20, '0')}.checkpoint.parquet`);
    writeFileSync(file, readFileSync(file).subarray(0, 100));
    for (let v = 11; v <= 20; v++) await opened.write({ sql: `SELECT ${v} AS id` }).execute();
    // Every commit stands; the checkpoint that would have lost the tombstone is not written.
    expect((await opened.snapshot()).version).toBe(20);
    expect(existsSync(join(log, `${String(20).padStart(20, '0')}.checkpoint.parquet`))).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('version 20 is committed, but its checkpoint could not be written');
    expect(warnings[0]).toMatch(/commit \d+ is missing from _delta_log.*Every later checkpoint is skipped the same way until/);
    opened.close();
  });

  it('gives the tombstones the log gives: latest, time travel and chained snapshots, with deletion vectors, re-added files and expiry', async () => {
    const t0 = Date.parse('2024-03-01T00:00:00Z');
    const clock = new ManualClock(t0);
    const dir = join(fx.dir, 'same');
    const store = new RecordingStore(dir);
    const t = await DeltaTable.forPath(dir, { compute: fx.compute, store, clock });
    const props = { 'delta.enableDeletionVectors': 'true', 'delta.checkpointInterval': '4' };
    await t.write({ sql: 'SELECT range AS id FROM range(0, 20)' }).properties(props).execute(); // v0
    await t.write({ sql: 'SELECT range AS id FROM range(100, 120)' }).execute(); // v1
    await t.write({ sql: 'SELECT range AS id FROM range(200, 220)' }).execute(); // v2
    await t.delete('id = 5').execute(); // v3: a DV swaps file 0 (remove and add of one path)
    await t.delete('id >= 100 AND id < 103').execute(); // v4: checkpoint
    clock.set(t0 + HOUR);
    await t.delete('id >= 200').execute(); // v5: file 2 removed whole
    await t.restore().version(2).execute(); // v6: the files of v2 added again (their removes cancelled)
    clock.set(t0 + 8 * DAY); // the removes of v3..v6 are now past the 7-day retention
    await t.delete('id = 7').execute(); // v7
    await t.delete('id = 8').execute(); // v8: checkpoint
    await t.write({ sql: 'SELECT 300 AS id' }).execute(); // v9
    await t.delete('id = 300').execute(); // v10: a file removed whole after the checkpoint
    await t.optimize().execute(); // v11
    const latest = (await t.snapshot()).version;
    expect(latest).toBe(11);

    const now = clock.now();
    const compare = async (snapshot: Snapshot, label: string) => {
      clear(store);
      const fromReplay = await checkpointTombstones(t.ctx, snapshot, now);
      // The replayed removes were used: no commit was read again.
      expect(commitReads(store), label).toEqual([]);
      const fromLog = await checkpointTombstones(t.ctx, withoutRemoves(snapshot), now);
      expect(canonical(fromReplay), label).toEqual(canonical(fromLog));
      return fromReplay;
    };

    // The handle's own chain (withCommit after each commit, counted from its checkpoint at 8).
    const chained = await compare(await t.snapshot(), 'chained latest');
    expect(chained.length).toBeGreaterThan(0);
    const reopened = await DeltaTable.forPath(dir, { compute: fx.compute, store });
    await compare(await reopened.snapshot(), 'fresh latest');
    // Time travel to every version: each replayed from the checkpoint at or below it.
    const live = (s: Snapshot) => new Set(s.files.map((f) => fileKey(f.path, f.deletionVector)));
    for (let v = 0; v <= latest; v++) {
      const at = await reopened.snapshot({ version: v });
      const tombs = await compare(at, `version ${v}`);
      const files = live(at);
      expect(tombs.some((r) => files.has(fileKey(r.path, r.deletionVector))), `version ${v}`).toBe(false);
    }
    // At v6, with the clock of then, the restored files are live and so carry no tombstone, while
    // the DV versions it dropped do.
    const v6 = await reopened.snapshot({ version: 6 });
    const atV6 = await checkpointTombstones(t.ctx, v6, t0 + 2 * HOUR);
    expect(canonical(atV6)).toEqual(canonical(await checkpointTombstones(t.ctx, withoutRemoves(v6), t0 + 2 * HOUR)));
    expect(atV6.length).toBeGreaterThan(0);
    expect(atV6.every((r) => r.deletionVector || !v6.hasFile(r.path))).toBe(true);
    reopened.close();
    t.close();
  });
});
